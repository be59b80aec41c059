'use strict';
const users = require('./users');
const templates = require('./templates');
const tree = require('./tree');
const payload = require('./payload');
const quota = require('./quota');

const routes = {
  'n-contact': (arg) => users.contactOf(arg),
  'n-label': (arg) => templates.renderList([{ label: 'a' }, { name: arg }]),
  'n-channels': (arg) => tree.flatten(tree.nested(Number(arg)), 0),
  'n-payload': (arg) => payload.parsePayload(arg),
  'n-quota': (arg) => quota.charge({ name: arg, left: 2 }, 5),
};

module.exports = { routes };

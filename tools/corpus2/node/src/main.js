'use strict';
// notify: runs one bug per argument through a router and middleware (the chain differs by
// deployment), printing each error as the OpenTelemetry JS SDK records it: type (err.code, else
// err.name), message, err.stack.
const { Router } = require('tinyrouter');
const { routes } = require('./routes');

const chain = process.env.CHAIN || 'plain';

function record(bug, err) {
  console.log(JSON.stringify({ bug, exception_type: err.code || err.name, message: err.message, stacktrace: err.stack }));
}

function authenticate(req, next) {
  req.user = 'svc';
  return next();
}

for (const a of process.argv.slice(2)) {
  const [bug, arg] = a.split('=');
  const router = new Router();
  if (chain === 'auth') router.use(authenticate);
  if (chain === 'anon') router.use((req, next) => next()).use(function (req, next) { return next(); });
  router.use((req) => routes[req.bug](req.arg));
  try {
    router.handle({ bug, arg });
  } catch (err) {
    record(bug, err);
  }
}

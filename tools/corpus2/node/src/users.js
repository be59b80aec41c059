'use strict';
const directory = { ada: { contact: { email: 'ada@example.com' } } };

function find(id) {
  return directory[id];
}

function contactOf(id) {
  return find(id).contact.email;
}

module.exports = { find, contactOf };

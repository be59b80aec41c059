'use strict';
function parsePayload(body) {
  return JSON.parse(body);
}

module.exports = { parsePayload };

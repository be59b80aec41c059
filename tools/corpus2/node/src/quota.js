'use strict';
function charge(account, n) {
  if (account.left < n) {
    const err = new Error(`quota exceeded for ${account.name}: ${n} > ${account.left}`);
    err.code = 'ERR_QUOTA';
    throw err;
  }
  account.left -= n;
}

module.exports = { charge };

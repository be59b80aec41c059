'use strict';
function renderList(items) {
  return items.map((item) => `<li>${item.label.toUpperCase()}</li>`).join('');
}

module.exports = { renderList };

'use strict';
function flatten(node, depth) {
  if (!node.children) {
    if (!node.id) throw new Error(`channel without id at depth ${depth}`);
    return [node.id];
  }
  return node.children.flatMap((c) => flatten(c, depth + 1));
}

function nested(depth) {
  let node = { name: 'leaf' };
  for (let i = 0; i < depth; i++) node = { id: `n${i}`, children: [node] };
  return node;
}

module.exports = { flatten, nested };

'use strict';
// A minimal bundler, as webpack or esbuild lay a build out: every module of src/ wrapped in a
// function inside one file named by its content hash (dist/main.<hash>.js). The build stamp
// changes the hash from build to build, as real builds do.
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const [src, dist, stamp] = process.argv.slice(2);
let out = `'use strict';\n/* build ${stamp} */\nconst __defs = {};\nconst __cache = {};\n`;
out += 'function __require(name) {\n  const key = name.replace(/^\\.\\//, "");\n  if (!__defs[key]) return require(name);\n  if (!__cache[key]) { const module = { exports: {} }; __cache[key] = module; __defs[key](module, module.exports, __require); }\n  return __cache[key].exports;\n}\n';
for (const f of fs.readdirSync(src).filter((f) => f.endsWith('.js')).sort()) {
  const body = fs.readFileSync(path.join(src, f), 'utf8').replace(/^'use strict';\n/, '');
  out += `__defs[${JSON.stringify(f.replace(/\.js$/, ''))}] = function (module, exports, require) {\n${body}};\n`;
}
out += '__require("./main");\n';
const hash = crypto.createHash('sha256').update(out).digest('hex').slice(0, 8);
fs.mkdirSync(dist, { recursive: true });
const file = path.join(dist, `main.${hash}.js`);
fs.writeFileSync(file, out);
console.log(file);

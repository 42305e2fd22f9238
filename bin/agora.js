#!/usr/bin/env node
// The `agora` command: runs the bundle that `npm start`, `npm test` or
// `npm run build` writes to dist/. CommonJS (bin/package.json), as the bundles
// are: node 20 starts an ES module entry 10 ms later (scripts/build.mjs).
'use strict';
let bundle;
try {
  bundle = require.resolve('../dist/agora.cjs');
} catch {
  console.error('agora: dist/ is missing; run `npm run build` (or `npm start`) first');
  process.exit(1);
}
require(bundle);

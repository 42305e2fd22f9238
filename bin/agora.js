#!/usr/bin/env node
// The `agora` command: runs the bundle that `npm start`, `npm test` or
// `npm run build` writes to dist/. CommonJS (bin/package.json), as the bundles
// are: node 20 starts an ES module entry 10 ms later (scripts/build.mjs).
// `agora run` starts from a bundle of its own, with a V8 code cache
// (code-cache.js): its task's start counts every millisecond (#7 item 17), and for plain
// arguments its first calls up to the ACCEPT go out before that bundle loads (run-ahead.js).
'use strict';
const { join } = require('node:path');

const dist = join(__dirname, '..', 'dist');
const runBundle = join(dist, 'agora-run.cjs');
let bundle;
try {
  bundle = require.resolve(process.argv[2] === 'run' ? runBundle : join(dist, 'agora.cjs'));
} catch {
  console.error('agora: dist/ is missing; run `npm run build` (or `npm start`) first');
  process.exit(1);
}
if (bundle !== runBundle) require(bundle);
else {
  // For plain arguments the prelude does the SUBSCRIBE, the first OFFERS and the ACCEPT
  // itself and loads the bundle at the task's first update; else the bundle does it all.
  const load = () => require('./code-cache.js').runWithCodeCache(bundle);
  if (!require('./run-ahead.js').runAhead(process.argv.slice(3), load)) load();
}

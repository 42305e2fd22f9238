// Runs a CommonJS bundle with a V8 code cache kept next to it (<bundle>.v8cache),
// so that a start of `agora run` deserializes its bytecode instead of compiling
// it (#7 item 17; numbers in bench/RESULTS.md): node 20 has no compile cache of
// its own (module.enableCompileCache is node 22).
//
// The cache is made by a run that found none (or one V8 refused): at its exit,
// V8's cached data then holds every function that run compiled, so a cache
// written after a task ran covers the whole path to the task's start. Only a
// run that says so (COMPLETE_MARK, set by `agora run` once its task ran) writes
// one: a run that ended early (help, a usage error, no master, interrupted)
// would leave a cache of its own short path, used by every later run and never
// replaced. The exit status could not tell: `agora run --help` exits 0. Written to a temporary file and renamed, so a reader never
// sees half a cache; where dist/ is not writable, there is simply no cache. (No
// checksum of our own over the data: V8 checks its header, and a JavaScript sum
// of 150 KB cost 1-25 ms here, more than the cache saves.)
//
// A cache is used only for the bundle it was made from: its header names the
// bundle's build id (the SHA-256 the build writes on the bundle's first line,
// scripts/build.mjs) and node's version. V8 checks its own version and flags,
// but of the source only its length. A node started with options of its own
// (node's or V8's, on its command line or in NODE_OPTIONS) neither reads nor
// writes the cache: V8 refuses a cache made under other flags, and a debugging
// run would otherwise replace the everyday one with one the next run refuses.
'use strict';
const { readFileSync, renameSync, unlinkSync, writeFileSync } = require('node:fs');
const { createRequire, Module } = require('node:module');
const { dirname } = require('node:path');
const { Script } = require('node:vm');

const BUILD_ID_PREFIX = '//agora-build:';
const BUILD_ID_LENGTH = 64;
const FORMAT = 'agora-v8-cache 1';
/**
 * Set to true on globalThis by the bundle once its run went the whole way (src/cli/run.ts):
 * only then is a cache written at exit.
 */
const COMPLETE_MARK = Symbol.for('agora.code-cache.complete');

/** The bundle's build id from its first line, or undefined for a bundle without one. */
function buildIdOf(source) {
  if (!source.startsWith(BUILD_ID_PREFIX)) return undefined;
  const id = source.slice(BUILD_ID_PREFIX.length, BUILD_ID_PREFIX.length + BUILD_ID_LENGTH);
  return /^[0-9a-f]{64}$/.test(id) ? id : undefined;
}

function hasNodeOptions() {
  return process.execArgv.length > 0 || (process.env.NODE_OPTIONS ?? '').trim() !== '';
}

function headerFor(buildId) {
  return `${FORMAT} ${buildId} ${process.version} ${process.arch}\n`;
}

/** The cached data in `file` if it was made for this build on this node, else undefined. */
function readCache(file, header) {
  let bytes;
  try {
    bytes = readFileSync(file);
  } catch {
    return undefined;
  }
  const expected = Buffer.from(header, 'latin1');
  if (bytes.length <= expected.length) return undefined;
  if (!bytes.subarray(0, expected.length).equals(expected)) return undefined;
  return bytes.subarray(expected.length);
}

function writeCache(file, header, data) {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, Buffer.concat([Buffer.from(header, 'latin1'), data]));
    renameSync(temporary, file);
  } catch {
    // Not writable (an installed, read-only dist/) or full: run without a cache.
    try {
      unlinkSync(temporary);
    } catch {}
  }
}

/**
 * Runs `file` (an absolute path to a CommonJS bundle) as a module, as require()
 * would, with its code cache; a bundle without a build id is simply required.
 * `cacheFile` defaults to `<file>.v8cache`. Returns whether a cache was used.
 */
function runWithCodeCache(file, cacheFile = `${file}.v8cache`) {
  const source = readFileSync(file, 'utf8');
  const buildId = buildIdOf(source);
  if (buildId === undefined || hasNodeOptions()) {
    require(file);
    return false;
  }
  const header = headerFor(buildId);
  const cachedData = readCache(cacheFile, header);
  // The wrapper on the bundle's first line: its line numbers (and source map) stay right.
  const script = new Script(
    `(function (exports, require, module, __filename, __dirname) {${source}\n})`,
    { filename: file, ...(cachedData !== undefined ? { cachedData } : {}) },
  );
  const used = cachedData !== undefined && script.cachedDataRejected !== true;
  if (!used)
    process.once('exit', () => {
      if (globalThis[COMPLETE_MARK] === true)
        writeCache(cacheFile, header, script.createCachedData());
    });
  const module = new Module(file, null);
  module.filename = file;
  script
    .runInThisContext()
    .call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  module.loaded = true;
  return used;
}

module.exports = { runWithCodeCache, buildIdOf, COMPLETE_MARK };

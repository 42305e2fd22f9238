#!/usr/bin/env node
// Runs every test file under node's test runner with coverage. Node 20's
// `--test` expands no globs, so the files are listed here. Pass a path
// fragment to run a subset: `node scripts/run-tests.mjs allocator`.
//
// Three guards keep one bad test from costing a whole CI run: each test has a
// deadline (a hung test fails, it does not hang the run); the run has a
// deadline; and the run is its own process group, killed when it ends, so a
// daemon some test leaked cannot hold the output pipe open after the summary.
// The coverage summary is reported after the tests and cannot fail them.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const TEST_TIMEOUT_MS = 5 * 60_000;
const RUN_TIMEOUT_MS = 75 * 60_000;
const REPORT_TIMEOUT_MS = 5 * 60_000;

function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith('.test.ts') ? [relative(root, path)] : [];
  });
}

const filters = process.argv.slice(2);
const files = testFiles(join(root, 'test'))
  .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}

const coverageDir = mkdtempSync(join(tmpdir(), 'agora-coverage-'));
const started = performance.now();
const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    `--test-timeout=${TEST_TIMEOUT_MS}`,
    ...files,
  ],
  {
    cwd: root,
    stdio: 'inherit',
    detached: true,
    env: { ...process.env, NODE_V8_COVERAGE: coverageDir },
  },
);

function killGroup() {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // The group is empty: nothing was left behind.
  }
}
// Ctrl-C or CI's own stop reaches this process; the group is not in the
// terminal's foreground, so pass it on.
for (const signal of ['SIGINT', 'SIGTERM'])
  process.on(signal, () => {
    killGroup();
    rmSync(coverageDir, { recursive: true, force: true });
    process.exit(130);
  });

const watchdog = setTimeout(() => {
  console.error(`run-tests: the run passed ${RUN_TIMEOUT_MS / 60_000} min; stopping it`);
  killGroup();
}, RUN_TIMEOUT_MS);

const code = await new Promise((resolve) => child.on('exit', (c) => resolve(c)));
clearTimeout(watchdog);
killGroup();
const minutes = ((performance.now() - started) / 60_000).toFixed(1);
console.log(`run-tests: ${files.length} files in ${minutes} min`);

const report = spawnSync(
  process.execPath,
  [
    join(root, 'node_modules', 'c8', 'bin', 'c8.js'),
    'report',
    `--temp-directory=${coverageDir}`,
    '--reporter=text-summary',
    '--include=src/**',
    '--exclude-after-remap',
  ],
  { cwd: root, stdio: 'inherit', timeout: REPORT_TIMEOUT_MS },
);
if (report.status !== 0) console.error('run-tests: no coverage summary (the tests are unaffected)');
rmSync(coverageDir, { recursive: true, force: true });
process.exit(code ?? 1);

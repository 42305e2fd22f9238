#!/usr/bin/env node
// Runs every test file under node's test runner with coverage. Node 20's
// `--test` expands no globs, so the files are listed here. Pass a path
// fragment to run a subset: `node scripts/run-tests.mjs allocator`.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

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

const c8 = join(root, 'node_modules', 'c8', 'bin', 'c8.js');
const result = spawnSync(
  process.execPath,
  [
    c8,
    '--reporter=text-summary',
    '--include=src/**',
    '--exclude-after-remap',
    process.execPath,
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    ...files,
  ],
  { cwd: root, stdio: 'inherit' },
);
process.exit(result.status ?? 1);

// The containerizer's ledger of the cgroups it made (src/containerizer/cgroup-ledger.ts):
// one append-only file that a restarted agent (a new CgroupLedger) reads back.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import {
  CgroupLedger,
  LEDGER_FILE,
  ledgerIds,
  parseLedger,
} from '../../src/containerizer/cgroup-ledger.js';

function ledgerDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'agora-ledger-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'cgroups');
}

test('what is recorded and not forgotten is what a restarted agent finds', (t) => {
  const dir = ledgerDir(t);
  const ledger = new CgroupLedger(dir);
  ledger.record('a');
  ledger.record('b');
  ledger.record('parked-c');
  ledger.forget('a');
  ledger.forget('never-recorded');
  assert.deepEqual(new CgroupLedger(dir).entries().sort(), ['b', 'parked-c']);
  assert.deepEqual(ledgerIds(dir).sort(), ['b', 'parked-c']);
  // One file, however many containers: no inode per container.
  assert.deepEqual(readdirSync(dir), [LEDGER_FILE]);
});

test('a torn last line (a crash mid-append) is skipped, the lines before it kept', (t) => {
  const dir = ledgerDir(t);
  const ledger = new CgroupLedger(dir);
  ledger.record('kept');
  ledger.record('gone');
  appendFileSync(join(dir, LEDGER_FILE), '-go');
  assert.deepEqual(new CgroupLedger(dir).entries().sort(), ['gone', 'kept']);
  assert.deepEqual(parseLedger('+a\n+b\n-a\n+\n-\nxyz\n+c'), ['b', 'c']);
});

test("the older layout's files (one per id) are read and folded into the file", (t) => {
  const dir = ledgerDir(t);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'old-1'), '');
  writeFileSync(join(dir, 'parked-old-2'), '');
  const ledger = new CgroupLedger(dir);
  assert.deepEqual(ledger.entries().sort(), ['old-1', 'parked-old-2']);
  assert.deepEqual(readdirSync(dir), [LEDGER_FILE]);
  ledger.forget('old-1');
  assert.deepEqual(new CgroupLedger(dir).entries(), ['parked-old-2']);
});

test('the file is rewritten with the live ids once lines pile up', (t) => {
  const dir = ledgerDir(t);
  const ledger = new CgroupLedger(dir);
  ledger.record('long-lived');
  for (let i = 0; i < 5000; i += 1) {
    ledger.record(`c${i}`);
    ledger.forget(`c${i}`);
  }
  const again = new CgroupLedger(dir);
  assert.deepEqual(again.entries(), ['long-lived']);
  // 10,001 lines (~70 kB) appended; the file holds only what came after the last rewrite.
  assert.ok(statSync(join(dir, LEDGER_FILE)).size < 35_000);
});

test('an id that is not one path component is refused', (t) => {
  const ledger = new CgroupLedger(ledgerDir(t));
  assert.throws(() => ledger.record('a/b'));
  assert.throws(() => ledger.record('.hidden'));
  assert.throws(() => ledger.record('a\nb'));
});

test('a ledger on a full disk still reads and forgets, so an agent killed then can restart', {
  skip: process.getuid?.() === 0 ? false : 'mounting a small tmpfs needs root',
}, (t) => {
  const mount = mkdtempSync(join(tmpdir(), 'agora-ledger-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mount]);
  t.after(() => {
    execFileSync('umount', [mount]);
    rmSync(mount, { recursive: true, force: true });
  });
  const dir = join(mount, 'ledger');
  const before = new CgroupLedger(dir);
  for (const id of ['a', 'b', 'c']) before.record(id);
  // Fill the disk to the last block.
  try {
    writeFileSync(join(mount, 'fill'), Buffer.alloc(1024 * 1024));
  } catch {
    // ENOSPC: what was written stays, and the disk is full.
  }
  const after = new CgroupLedger(dir);
  assert.deepEqual(after.entries(), ['a', 'b', 'c'], 'read, though it could not be rewritten');
  assert.doesNotThrow(() => after.forget('b'), 'a gone cgroup is forgotten, if not on disk');
  assert.deepEqual(after.entries(), ['a', 'c']);
  rmSync(join(mount, 'fill'));
  // Whether the forgetting reached the disk or not, the live ones are still there.
  const next = new CgroupLedger(dir).entries();
  assert.ok(next.includes('a') && next.includes('c'), next.join(','));
});

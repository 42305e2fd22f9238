import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  agentResources,
  detectHostResources,
  offerableDiskMb,
  offerableMemoryMb,
} from '../../src/agent/host-resources.js';

const MB = 1024 * 1024;
const GB = 1024 * MB;

test('offerable memory keeps 1 GB for the system, or half below 2 GB (Mesos)', () => {
  const cases: [totalBytes: number, mb: number][] = [
    [24 * GB, 23 * 1024],
    [2 * GB, 1024],
    [2 * GB - MB, 1023],
    [1 * GB, 512],
  ];
  for (const [total, mb] of cases) assert.equal(offerableMemoryMb(total), mb, `${total} bytes`);
});

test('offerable disk keeps 5 GB free, or half below 10 GB (Mesos)', () => {
  const cases: [freeBytes: number, mb: number][] = [
    [79 * GB, 74 * 1024],
    [10 * GB, 5 * 1024],
    [10 * GB - 2 * MB, 5 * 1024 - 1],
    [3 * MB, 1],
    [0, 0],
  ];
  for (const [free, mb] of cases) assert.equal(offerableDiskMb(free), mb, `${free} bytes`);
});

test('detected disk is what is free under the work dir, not the size of its disk', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'agora-host-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const fs = statfsSync(dir);
  const disk = detectHostResources(dir).scalar('disk');
  // Free space moves while other engineers' tests write; it only ever bounds from above.
  assert.ok(
    disk <= offerableDiskMb(fs.bavail * fs.bsize) + 64,
    `disk:${disk} is at most what is free (${Math.floor((fs.bavail * fs.bsize) / MB)} MB)`,
  );
  if (fs.blocks - fs.bavail > (1 * GB) / fs.bsize)
    assert.ok(disk < offerableDiskMb(fs.blocks * fs.bsize), 'less than the whole disk');
});

test('agent resources take --resources name by name over what is detected', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'agora-host-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const resources = agentResources(dir, 'cpus:0.5;ports:[5000-5009]');
  assert.equal(resources.scalar('cpus'), 0.5);
  assert.match(resources.toString(), /ports:\[5000-5009\]/);
  assert.ok(resources.scalar('mem') > 0, 'mem still detected');
});

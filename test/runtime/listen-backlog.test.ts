// A master's listen queue is as long as the kernel allows: with net.core.somaxconn raised,
// 10,000 agents reconnecting to a newly elected master are not capped at 4,096 queued
// connections by Agora (each SYN the kernel drops costs its agent 1 s, then 3 s).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./listen-backlog-child.ts', import.meta.url));

function canUnshareNetwork(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('unshare', ['-n', 'true'], { stdio: 'ignore' });
    execFileSync('ss', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('the listen queue takes a raised net.core.somaxconn, beyond 4,096', {
  skip: canUnshareNetwork() ? false : 'needs root, unshare and ss',
}, () => {
  // A namespace of its own: the host's somaxconn is left as it is.
  const out = execFileSync('unshare', ['-n', process.execPath, '--import', 'tsx', CHILD], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(Number(out.trim()), 65_535);
});

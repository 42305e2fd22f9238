// The ending the HA tests share: stop launching, let every task settle, then
// assert that nothing was lost or run twice and that no two masters led at once,
// keeping the masters' logs and the framework's journal when it failed.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { isAlive, waitFor } from '../integration/harness.js';
import type { HaBed } from './bed.js';
import { checkInvariants, explain, isSettled } from './invariants.js';
import { type JournalEntry, readRuns } from './journal.js';
import type { LeaderMonitor } from './leader-monitor.js';
import type { WorkloadProcess } from './workload-process.js';

export interface SettleOptions {
  readonly bed: HaBed;
  readonly workload: WorkloadProcess;
  readonly monitor: LeaderMonitor;
  /** Names the directory logs are kept in: agora-<name>-failed-*. */
  readonly name: string;
  readonly timeoutMs: number;
}

/** Returns the framework's journal, for the test's own checks after. */
export async function settleAndCheck(
  t: TestContext,
  options: SettleOptions,
): Promise<readonly JournalEntry[]> {
  const { bed, workload, monitor } = options;
  workload.stopLaunching();
  await waitFor(
    'every task settled (long ones RUNNING or ended, short ones ended)',
    () => (isSettled(workload.journal()) ? true : undefined),
    options.timeoutMs,
  );
  await monitor.stop();
  const journal = workload.journal();
  const violations = checkInvariants({
    journal,
    runs: readRuns(workload.ranPath),
    isAlive,
    longMustRun: true,
  });
  if (violations.length > 0) {
    const kept = mkdtempSync(join(tmpdir(), `agora-${options.name}-failed-`));
    bed.dumpLogs(kept);
    cpSync(workload.journalPath, join(kept, 'journal.jsonl'));
    t.diagnostic(`logs and journal kept in ${kept}`);
  }
  assert.deepEqual(
    violations,
    [],
    `invariants broken:\n${violations.join('\n')}\nwhat the framework saw:\n${explain(violations, journal)}`,
  );
  assert.deepEqual(monitor.violations, [], 'two masters led at once');
  return journal;
}

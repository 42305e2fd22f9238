// A bed for the agent's task runs: the real TaskRuns, checkpoint and status
// update manager on a manual clock, over a containerizer whose containers are
// fakes the test ends, probes the test answers, and a fetcher it can replace.
// Every update sent toward the master is recorded.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { ProbeContext, ProbeSpec } from '../../src/agent/check-probes.js';
import type { ProbeOutcome } from '../../src/agent/check-rules.js';
import { Checkpoint } from '../../src/agent/checkpoint.js';
import { StatusUpdateManager } from '../../src/agent/status-update-manager.js';
import { TaskRuns, type TaskRunsOptions } from '../../src/agent/task-runs.js';
import type {
  Container,
  Containerizer,
  LaunchSpec,
  Termination,
} from '../../src/containerizer/index.js';
import { ManualClock, silentLogger } from '../../src/runtime/index.js';
import {
  agentId,
  type FrameworkInfo,
  frameworkId,
  type TaskInfo,
  type TaskStatus,
  taskId,
} from '../../src/wire/index.js';

export class FakeContainer implements Container {
  readonly pid = process.pid;
  readonly cgroupProcsFiles: readonly string[] = [];
  readonly signals: NodeJS.Signals[] = [];
  readonly terminated: Promise<Termination>;
  private finish: (termination: Termination) => void = () => undefined;

  constructor(
    readonly id: string,
    readonly spec: LaunchSpec,
  ) {
    this.terminated = new Promise((resolve) => {
      this.finish = resolve;
    });
  }

  signal(signal: NodeJS.Signals): void {
    this.signals.push(signal);
  }

  usage() {
    return { timestamp: 0 };
  }

  end(termination: Termination): void {
    this.finish(termination);
  }
}

export class FakeContainerizer implements Containerizer {
  readonly launched: FakeContainer[] = [];
  readonly description = 'fake';

  async launch(spec: LaunchSpec): Promise<Container> {
    const container = new FakeContainer(spec.containerId, spec);
    this.launched.push(container);
    return container;
  }

  async recover(): Promise<Map<string, Container | Termination>> {
    return new Map();
  }

  async cleanup(): Promise<void> {}

  enter(): undefined {
    return undefined;
  }

  close(): void {}
}

export interface ProbeCall {
  readonly spec: ProbeSpec;
  readonly context: ProbeContext;
  readonly signal: AbortSignal;
  readonly resolve: (outcome: ProbeOutcome) => void;
}

export const flush = () => new Promise((resolve) => setImmediate(resolve));

/**
 * `acknowledge: false` leaves every update unacknowledged (the manager resends
 * the oldest); by default each is acknowledged as soon as it is sent.
 */
export function taskRunsBed(
  t: TestContext,
  options: Partial<TaskRunsOptions> & { readonly acknowledge?: boolean } = {},
) {
  const workDir = mkdtempSync(join(tmpdir(), 'agora-task-runs-'));
  const clock = new ManualClock(1_700_000_000_000);
  /** Every distinct update sent, in order (a resend is not recorded again). */
  const sent: TaskStatus[] = [];
  const seen = new Set<string>();
  const acknowledged: TaskStatus[] = [];
  const updates = new StatusUpdateManager({
    clock,
    send: ({ status }) => {
      if (seen.has(status.uuid ?? '')) return;
      seen.add(status.uuid ?? '');
      sent.push(status);
      if (options.acknowledge !== false) acknowledged.push(status);
    },
  });
  updates.connected();
  t.after(() => updates.stop());
  const containerizer = new FakeContainerizer();
  const probes: ProbeCall[] = [];
  const checkpoint = options.checkpoint ?? new Checkpoint(workDir);
  const runs = new TaskRuns({
    workDir,
    containerizer,
    fetcher: { fetch: async () => undefined },
    checkpoint,
    updates,
    clock,
    log: silentLogger(),
    killGracePeriodMs: 3000,
    recover: 'reconnect',
    agentId: () => 'S1',
    endpoint: () => '127.0.0.1:5051',
    drain: () => undefined,
    retired: () => undefined,
    probe: (spec, context, signal) =>
      new Promise((resolve) => probes.push({ spec, context, signal, resolve })),
    ...options,
  });
  // Once the directories made ahead in the thread pool are.
  t.after(async () => {
    await Promise.all([runs.settled(), checkpoint.settled()]);
    rmSync(workDir, { recursive: true, force: true });
  });
  /** Acknowledges what was sent, as a framework does, until nothing new comes. */
  const settle = async () => {
    for (;;) {
      await flush();
      const status = acknowledged.shift();
      if (status === undefined) return;
      runs.acknowledged('F1', status.task_id.value, status.uuid ?? '');
    }
  };
  const frameworkInfo: FrameworkInfo = {
    user: 'root',
    name: 'bed',
    id: frameworkId('F1'),
    capabilities: [{ type: 'TASK_KILLING_STATE' }],
  };
  const launch = async (id: string, extra: Partial<TaskInfo> = {}) => {
    await runs.launch(frameworkInfo, {
      name: id,
      task_id: taskId(id),
      agent_id: agentId('S1'),
      command: { value: 'sleep 100' },
      ...extra,
    });
    await settle();
    return containerizer.launched.at(-1);
  };
  /** The states (and health) of every update of `id` so far. */
  const states = (id: string) =>
    sent
      .filter((s) => s.task_id.value === id)
      .map((s) => (s.healthy === undefined ? s.state : `${s.state} healthy=${s.healthy}`));
  /** Once nothing this bed's runs and checkpoint make in the background is still coming. */
  const settled = async () => {
    await Promise.all([runs.settled(), checkpoint.settled()]);
  };
  return {
    workDir,
    clock,
    sent,
    runs,
    updates,
    containerizer,
    probes,
    launch,
    states,
    settle,
    settled,
  };
}

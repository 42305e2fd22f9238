// The DRF paper's example (9 CPUs, 18 GB; A's tasks <1 CPU, 4 GB>, B's <3 CPUs,
// 1 GB>) through real frameworks on a real master and agent: each framework
// launches one task per offer and declines the rest, so the allocator's order
// decides. A must end with 3 tasks and B with 2.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Resources } from '../../src/resources/index.js';
import { type SchedulerConnection, subscribe } from '../../src/sdk/index.js';
import { taskId } from '../../src/wire/index.js';
import { getState, startCluster, waitFor } from './harness.js';

/** A framework that launches one `sleep` task of a fixed size per offer that fits, declining the rest. */
class GreedyFramework {
  launched = 0;
  declined = 0;
  readonly done: Promise<void>;
  private readonly demand: Resources;

  private constructor(
    readonly connection: SchedulerConnection,
    private readonly name: string,
    task: string,
  ) {
    this.demand = Resources.parse(task);
    this.done = this.loop().catch(() => undefined);
  }

  static async start(
    master: string,
    name: string,
    role: string,
    task: string,
  ): Promise<GreedyFramework> {
    return new GreedyFramework(
      await subscribe({ master, frameworkInfo: { user: 'test', name, role } }),
      name,
      task,
    );
  }

  private async loop(): Promise<void> {
    for await (const event of this.connection.events()) {
      if (event.type !== 'OFFERS') continue;
      for (const offer of event.offers.offers) {
        if (!Resources.fromWire(offer.resources).unallocate().contains(this.demand)) {
          this.declined += 1;
          await this.connection.decline([offer.id], { refuse_seconds: 0 });
          continue;
        }
        this.launched += 1;
        const id = `${this.name}-${this.launched}`;
        await this.connection.accept(
          [offer.id],
          [
            {
              type: 'LAUNCH',
              launch: {
                task_infos: [
                  {
                    name: id,
                    task_id: taskId(id),
                    agent_id: offer.agent_id,
                    resources: this.demand.toWire('pre-refinement'),
                    command: { value: 'sleep 600' },
                  },
                ],
              },
            },
          ],
          { refuse_seconds: 0 },
        );
      }
    }
  }
}

test('the DRF paper example runs through real frameworks: A 3 tasks, B 2 tasks', async (t) => {
  const cluster = await startCluster({
    agents: 1,
    agentResources: 'cpus:9;mem:18432;disk:1024;ports:[31000-31010]',
    masterArgs: ['--allocation_interval', '50ms'],
  });
  const frameworks: GreedyFramework[] = [];
  // node:test runs after-hooks in the order they were added: one hook, frameworks first.
  t.after(async () => {
    for (const framework of frameworks)
      await framework.connection.teardown().finally(() => framework.connection.close());
    await cluster.stop();
  });
  const a = await GreedyFramework.start(cluster.masterUrl, 'A', 'a', 'cpus:1;mem:4096');
  frameworks.push(a);
  const b = await GreedyFramework.start(cluster.masterUrl, 'B', 'b', 'cpus:3;mem:1024');
  frameworks.push(b);

  const running = async () => {
    const state = await getState(cluster.masterUrl);
    const count = (name: string) =>
      state.frameworks
        .find((f) => f.name === name)
        ?.tasks.filter((task) => task.state === 'TASK_RUNNING').length ?? 0;
    return { A: count('A'), B: count('B') };
  };
  await waitFor('A 3 and B 2 tasks running', async () => {
    const now = await running();
    return now.A === 3 && now.B === 2 ? true : undefined;
  });
  // The leftover (no CPU, 4 GB) keeps being offered and declined; nothing more is launched.
  const declinedBefore = a.declined + b.declined;
  await waitFor('five more offers declined', () =>
    a.declined + b.declined >= declinedBefore + 5 ? true : undefined,
  );
  assert.deepEqual(await running(), { A: 3, B: 2 });
  assert.equal(a.launched, 3);
  assert.equal(b.launched, 2);

  // Shares count offered resources too: take them once the leftover is on offer to no one.
  await a.connection.suppress();
  await b.connection.suppress();
  const snapshot = async () =>
    (await (await fetch(new URL('/metrics/snapshot', cluster.masterUrl))).json()) as Record<
      string,
      number
    >;
  const metrics = await waitFor('no offer outstanding', async () => {
    const now = await snapshot();
    return now['master/outstanding_offers'] === 0 ? now : undefined;
  });
  assert.ok(
    Math.abs((metrics['allocator/mesos/roles/a/shares/dominant'] ?? 0) - 2 / 3) < 0.01,
    'A holds 2/3 of the memory',
  );
  assert.ok(
    Math.abs((metrics['allocator/mesos/roles/b/shares/dominant'] ?? 0) - 2 / 3) < 0.01,
    'B holds 2/3 of the CPUs',
  );
  assert.ok((metrics['allocator/mesos/allocation_runs'] ?? 0) >= 5);
});

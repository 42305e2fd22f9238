// Fault injection across the whole cluster, as an outside evaluator would run it: a master
// with its embedded registry, two agents, the jobs framework and the services framework, each
// a real process of dist/. A seeded schedule (chaos-plan.ts) SIGKILLs the master, an agent,
// a framework or a task process at moments it picks, while a jobs array of short tasks with
// retries and a services app of 3 instances run; each killed daemon is started again on its
// work dir. Then everything is let come back, and chaos-checks.ts's rules must hold within
// their deadlines. The seed is printed; CHAOS_SEED=<seed> replays a run's schedule.
import assert from 'node:assert/strict';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  jobsViolations,
  orphanViolations,
  resentAfterAcknowledgement,
  stateDisagreements,
} from './chaos-checks.js';
import {
  agentTasks,
  CHAOS_CGROUPS_ROOT,
  containerProcesses,
  leftCgroups,
  masterTasks,
  Restartable,
  removeCgroups,
  sweepContainers,
  taskProcesses,
  updateEvents,
} from './chaos-cluster.js';
import { chaosSeed, describeFault, type Fault, planChaos } from './chaos-plan.js';
import { getState, waitFor } from './harness.js';
import { getRun, submit } from './jobs-harness.js';
import { api, healthyTasks, httpServerCmd } from './services-helpers.js';

const FAULTS = 16;
const COMPLETIONS = 50;
const INSTANCES = 3;
const APP = '/chaos';
/** How long the cluster gets to come back before a rule that has not held is a failure. */
const HEAL_MS = 60_000;

/** Agents share 127.0.0.1: ranges of their own, below the ephemeral ports and away from other tests' 31000s. */
const agentResources = (ports: string) => `cpus:4;mem:4096;disk:4096;ports:[${ports}]`;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

test('chaos: SIGKILLs of the master, agents, frameworks and tasks lose no index, count none twice, and leave 3 instances, no orphan, one truth', async (t) => {
  const seed = chaosSeed();
  const plan = planChaos(seed, FAULTS);
  t.diagnostic(`chaos seed ${seed} (replay with CHAOS_SEED=${seed})`);
  console.log(`chaos seed ${seed} (replay with CHAOS_SEED=${seed})`);
  const dir = mkdtempSync(join(tmpdir(), 'agora-chaos-'));
  const trail = join(dir, 'trail');
  const agentDirs = [join(dir, 'agent-1'), join(dir, 'agent-2')];
  const master = new Restartable('master', (lastUrl) => [
    'master',
    '--port',
    lastUrl !== undefined ? new URL(lastUrl).port : '0',
    '--work_dir',
    join(dir, 'master'),
  ]);
  const masterUrl = () => master.lives[0]?.url ?? '';
  const agents = agentDirs.map(
    (workDir, i) =>
      new Restartable(`agent-${i + 1}`, () => [
        'agent',
        '--master',
        masterUrl(),
        '--port',
        '0',
        '--work_dir',
        workDir,
        '--resources',
        agentResources(i === 0 ? '30400-30449' : '30450-30499'),
        '--registration_backoff_factor',
        '100ms',
        '--cgroups_root',
        CHAOS_CGROUPS_ROOT,
      ]),
  );
  const jobs = new Restartable('jobs', () => [
    'jobs',
    'serve',
    '--master',
    masterUrl(),
    '--port',
    '0',
    '--work_dir',
    join(dir, 'jobs'),
    '--log_level',
    'debug',
  ]);
  const services = new Restartable('services', () => [
    'services',
    'serve',
    '--master',
    masterUrl(),
    '--port',
    '0',
    // Any free port, each life its own: a fixed one may be taken by another process's
    // connection while the framework is down (DNS is not what this test checks).
    '--dns_port',
    '0',
    '--work_dir',
    join(dir, 'services'),
    '--log_level',
    'debug',
  ]);
  const daemons: Record<Exclude<Fault['target'], 'task'>, Restartable> = {
    master,
    'agent-1': agents[0] as Restartable,
    'agent-2': agents[1] as Restartable,
    jobs,
    services,
  };
  const done: string[] = [];
  const violations: string[] = [];
  let hasPassed = false;
  /** Restarts under way; a failed test waits for them, or one would start after the cleanup. */
  const restarting = new Map<Restartable, Promise<void>>();
  t.after(async () => {
    await Promise.allSettled(restarting.values());
    await services.stop().catch(() => undefined);
    await jobs.stop().catch(() => undefined);
    for (const agent of agents) await agent.stop().catch(() => undefined);
    await master.stop().catch(() => undefined);
    await sweepContainers(agentDirs);
    await removeCgroups(leftCgroups());
    if (!hasPassed) {
      const kept = mkdtempSync(join(tmpdir(), `agora-chaos-failed-${seed}-`));
      for (const d of Object.values(daemons))
        writeFileSync(
          join(kept, `${d.name}.log`),
          d
            .lines()
            .map((l) => JSON.stringify(l))
            .join('\n'),
        );
      writeFileSync(
        join(kept, 'journal.json'),
        JSON.stringify({ seed, done, violations }, null, 1),
      );
      if (existsSync(trail)) cpSync(trail, join(kept, 'trail'));
      console.log(`chaos: logs kept in ${kept}`);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  await master.start();
  for (const agent of agents) await agent.start();
  await waitFor('2 agents to register', async () =>
    (await getState(masterUrl())).slaves.filter((s) => s.active).length === 2 ? true : undefined,
  );
  mkdirSync(join(dir, 'jobs'));
  await jobs.start();
  await services.start();

  // A task fails when its sleep is killed (&&), so a killed task process costs a retry.
  const run = await submit(jobs.url, {
    id: 'chaos',
    run: {
      cmd: `echo start $AGORA_JOB_INDEX >> ${trail} && sleep $((1 + AGORA_JOB_INDEX % 3)) && echo done $AGORA_JOB_INDEX >> ${trail}`,
      cpus: 0.1,
      mem: 16,
    },
    completions: COMPLETIONS,
    parallelism: 5,
    maxRetries: 30,
    backoffSeconds: 1,
  });
  const created = await api(services.url, 'POST', '/v2/apps', {
    id: APP,
    cmd: httpServerCmd('chaos'),
    cpus: 0.1,
    mem: 32,
    instances: INSTANCES,
    portDefinitions: [{ port: 0, name: 'http' }],
    backoffSeconds: 1,
    backoffFactor: 1,
    healthChecks: [
      {
        protocol: 'HTTP',
        path: '/',
        portIndex: 0,
        gracePeriodSeconds: 10,
        intervalSeconds: 2,
        timeoutSeconds: 1,
        maxConsecutiveFailures: 3,
        delaySeconds: 0,
      },
    ],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await healthyTasks(services.url, APP, INSTANCES, HEAL_MS);

  for (const [i, fault] of plan.entries()) {
    await sleep(fault.afterMs);
    const line = `${new Date().toISOString()} fault ${i + 1}/${plan.length}: ${describeFault(fault)}`;
    done.push(line);
    if (fault.target === 'task') {
      const processes = taskProcesses(agentDirs);
      const victim = processes[Math.floor(fault.pick * processes.length)];
      if (victim !== undefined)
        try {
          process.kill(victim.pid, 'SIGKILL');
          done.push(`  killed ${victim.pid} of ${victim.taskId}`);
        } catch {
          // It ended meanwhile.
        }
      continue;
    }
    // Down spells overlap: the next fault does not wait for this one's restart, so the master
    // may die while an agent is away, or a framework while the master is. A target that is
    // still down is waited for first (killing what is not running is no fault).
    const daemon = daemons[fault.target];
    await restarting.get(daemon);
    await daemon.sigkill();
    restarting.set(
      daemon,
      sleep(fault.downMs).then(async () => {
        if (fault.againAfterMs !== undefined) await daemon.startCutShort(fault.againAfterMs);
        await daemon.start();
      }),
    );
  }
  await Promise.all(restarting.values());
  const chaosEndedAt = Date.now();
  console.log(done.join('\n'));

  // Everything is up again: let it come back, then each rule in turn, within its deadline.
  const finished = await waitFor(
    'the jobs run to finish',
    async () => {
      const now = await getRun(jobs.url, 'chaos', run.id);
      return now.status === 'SUCCESS' || now.status === 'FAILED' ? now : undefined;
    },
    90_000,
  ).catch((error: Error) => violations.push(error.message));
  if (typeof finished !== 'number') {
    const history = await getRun(jobs.url, 'chaos', run.id, 'all');
    violations.push(
      ...jobsViolations(history, COMPLETIONS, readFileSync(trail, 'utf8').trim().split('\n')),
    );
  }
  await healthyTasks(services.url, APP, INSTANCES, HEAL_MS).catch((error: Error) =>
    violations.push(error.message),
  );
  const servicesFrameworkId = services.lines().find((l) => l.msg === 'subscribed')?.framework_id;
  let last: string[] = [];
  const settle = async (what: string, check: () => Promise<string[]>) => {
    await waitFor(
      what,
      async () => {
        last = await check();
        return last.length === 0 ? true : undefined;
      },
      HEAL_MS / 2,
    ).catch(() => violations.push(...last.map((v) => `${what}: ${v}`)));
  };
  await settle('the app runs exactly its instances', async () => {
    const state = await getState(masterUrl());
    const live = (state.frameworks.find((f) => f.id === servicesFrameworkId)?.tasks ?? []).filter(
      (task) => !['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_LOST'].includes(task.state),
    );
    return live.length === INSTANCES
      ? []
      : [`the master lists ${live.length} live tasks of the services framework`];
  });
  await settle('the master and the agents agree', async () =>
    stateDisagreements(
      await masterTasks(masterUrl()),
      (await Promise.all(agents.map((a) => agentTasks(a.url)))).flat(),
    ),
  );
  await settle('no task process is orphaned', async () => {
    const running = new Set(
      (await masterTasks(masterUrl())).filter((x) => x.state === 'TASK_RUNNING').map((x) => x.id),
    );
    return orphanViolations(containerProcesses(agentDirs), running);
  });
  const masterOrAgentKills = [master, ...agents].flatMap((d) => d.killedAt);
  const jobsEvents = updateEvents('jobs', jobs.lines());
  // A rule that saw nothing held vacuously: the debug lines it reads must be there.
  if (!jobsEvents.some((e) => e.kind === 'acknowledged'))
    violations.push('the jobs framework logged no acknowledgement (its debug lines are missing)');
  violations.push(...resentAfterAcknowledgement(jobsEvents, masterOrAgentKills));
  // The SDK acknowledges a services update as it hands it over: delivery is the acknowledgement,
  // and the framework's own death may take that acknowledgement with it.
  const servicesEvents = updateEvents('services', services.lines()).flatMap((e) => [
    e,
    { ...e, kind: 'acknowledged' as const },
  ]);
  violations.push(
    ...resentAfterAcknowledgement(servicesEvents, [...masterOrAgentKills, ...services.killedAt]),
  );
  // What the rules looked at, so a pass is seen not to be vacuous.
  const live = await masterTasks(masterUrl());
  console.log(
    `chaos checked: ${COMPLETIONS} indices, ${live.length} live tasks on master and agents, ${containerProcesses(agentDirs).length} container processes, ${jobsEvents.length} jobs and ${servicesEvents.length / 2} services update lines, ${[master, ...agents, jobs, services].reduce((n, d) => n + d.killedAt.length, 0)} daemon kills, ${[...jobsEvents, ...servicesEvents].filter((e) => e.kind === 'delivered' && e.state === 'TASK_UNREACHABLE').length} TASK_UNREACHABLE seen; healed in ${Math.round((Date.now() - chaosEndedAt) / 1000)} s`,
  );
  // Stopped as an operator stops them (an agent kills its tasks), then whatever cgroup is left
  // under the agents' root is a leak: a stopped agent takes its containers' and its parked
  // shim's with it, and a SIGKILLed one leaves none that its next life did not take.
  await services.stop();
  await jobs.stop();
  for (const agent of agents) await agent.stop();
  violations.push(...leftCgroups().map((path) => `at the end: cgroup ${path} was left`));
  assert.deepEqual(violations, [], `seed ${seed}; replay with CHAOS_SEED=${seed}`);
  hasPassed = true;
});

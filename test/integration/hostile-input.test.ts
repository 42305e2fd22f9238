// Hostile input against a real master and agent (issue #7, "Bad input, in general"): a seeded
// generator of malformed and oversized requests (depth, length, count, wrong types, encodings,
// query strings, libprocess forms, RecordIO streams) sent to every route of both daemons
// (every registration under src/master, src/agent and src/runtime: hostile/calls.ts), including
// the scheduler calls of a subscribed framework with its real stream id and the agent's
// operator API (hostile/probes.ts). Each must get a 4xx that says why (or, where a GET takes
// no input, a 200), never a 5xx or a reset connection; afterwards the master's memory,
// /master/state and the agent's state are as they were, both daemons are alive, and the
// cluster still runs a task.
//
// Replay a run with HOSTILE_SEED=<seed> (the seed is printed). Mutants that the call schemas
// take as valid are not sent (they would be executed: a valid SUBSCRIBE subscribes); instead
// the schemas themselves are checked to refuse an oversized string in every string field and
// an oversized list in every list.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type SchedulerConnection, subscribe } from '../../src/sdk/index.js';
import { mulberry32 } from '../../src/sim/index.js';
import { type Cluster, isAlive, runCli, startCluster } from './harness.js';
import {
  AGENT_ROUTES,
  type CallKind,
  type Ids,
  isRefused,
  type Json,
  MASTER_ROUTES,
  registeredRoutes,
  templates,
} from './hostile/calls.js';
import {
  allProbes,
  bodyBytes,
  type Counts,
  getAt,
  LONG_LIST_LENGTH,
  LONG_STRING,
  pathsOf,
  takesAnyString,
  withAt,
} from './hostile/probes.js';
import { cpuSeconds, failureOf, fetchText, normalised, rssBytes, sendAll } from './hostile/send.js';

const SEED = Number(process.env.HOSTILE_SEED ?? 20_260_707);
/** The master's old-generation heap, in MiB: twice what it uses idle, far less than a run sends. */
const MASTER_HEAP_MIB = 128;
/**
 * The master's RSS may grow by this much: a heap grown to its cap and the buffers of bodies
 * in flight (measured: 90-110 MiB, and flat over four runs in a row).
 */
const MAX_RSS_GROWTH_BYTES = 192 * 1024 * 1024;

const MiB = 2 ** 20;

describe('hostile input', () => {
  let cluster: Cluster;
  let framework: SchedulerConnection | undefined;
  before(async () => {
    cluster = await startCluster({
      agents: 1,
      agentResources: 'cpus:2;mem:1024;disk:1024;ports:[31000-31010]',
      masterEnv: {
        ...process.env,
        // A master that kept what it is sent would run out of heap and die, which the test sees.
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=${MASTER_HEAP_MIB}`,
      },
    });
  });
  after(async () => {
    await framework?.close({ drainMs: 0 });
    await cluster?.stop();
  });

  test('every route of the master and the agent is in the suite', () => {
    const missing = registeredRoutes()
      .flatMap(({ daemon, methods, path }) => methods.map((method) => ({ daemon, method, path })))
      .filter(({ daemon, method, path }) => {
        const table = daemon === 'master' ? MASTER_ROUTES : AGENT_ROUTES;
        return table[`${method} ${path}`] === undefined;
      })
      .map(({ daemon, method, path }) => `${daemon} ${method} ${path}`);
    assert.deepEqual(missing, [], 'add these routes to hostile/calls.ts');
    const registered = new Set(
      registeredRoutes().flatMap(({ daemon, methods, path }) =>
        methods.map((method) => `${daemon} ${method} ${path}`),
      ),
    );
    const stale = [
      ...Object.keys(MASTER_ROUTES).map((key) => `master ${key}`),
      ...Object.keys(AGENT_ROUTES).map((key) => `agent ${key}`),
    ].filter((route) => !registered.has(route));
    assert.deepEqual(stale, [], 'these routes of hostile/calls.ts are registered nowhere');
    // The scan sees the routes of src/master/http, of src/runtime and under a loop's names.
    const found = new Set(
      registeredRoutes().map((r) => `${r.daemon} ${r.methods.join(',')} ${r.path}`),
    );
    for (const route of [
      'master POST /master/reserve',
      'master POST /master/destroy-volumes',
      'master DELETE /master/quota/*',
      'master GET /files/read',
      'agent GET /files/read',
      'agent POST /slave(1)/api/v1',
    ])
      assert.ok(found.has(route), `the scan finds ${route}`);
  });

  test('every string field and every list of every call has a bound', () => {
    const ids: Ids = { frameworkId: 'f', streamId: 's', offerId: 'o', agentId: 'a' };
    const unbounded: string[] = [];
    for (const [kind, values] of Object.entries(templates(ids)) as [CallKind, Json[]][])
      for (const template of values) {
        assert.equal(isRefused(kind, template), false, `the ${kind} template is valid`);
        for (const path of pathsOf(template)) {
          const original = getAt(template, path);
          if (typeof original === 'string' && !takesAnyString(path)) {
            if (!isRefused(kind, withAt(template, path, LONG_STRING)))
              unbounded.push(`${kind} ${path.join('.')}`);
          }
          if (Array.isArray(original) && !path.includes('container')) {
            const long = new Array<Json>(LONG_LIST_LENGTH).fill(original[0] ?? 'x');
            if (!isRefused(kind, withAt(template, path, long)))
              unbounded.push(`${kind} ${path.join('.')}[]`);
          }
        }
      }
    assert.deepEqual(unbounded, []);
  });

  test('malformed and oversized requests get a 4xx, and leave the cluster as it was', async (t) => {
    t.diagnostic(`seed ${SEED} (replay with HOSTILE_SEED=${SEED})`);
    framework = await subscribe({
      master: cluster.masterUrl,
      frameworkInfo: {
        user: 'test',
        name: 'hostile',
        roles: ['r1'],
        capabilities: [{ type: 'MULTI_ROLE' }],
      },
    });
    // Read to the first offer without leaving the iterator: that would close the subscription.
    const events = framework.events();
    let offerId: string | undefined;
    let agentId: string | undefined;
    while (offerId === undefined) {
      const next = await events.next();
      if (next.done) break;
      if (next.value.type !== 'OFFERS') continue;
      offerId = next.value.offers.offers[0]?.id.value;
      agentId = next.value.offers.offers[0]?.agent_id.value;
    }
    assert.ok(offerId !== undefined && agentId !== undefined, 'an offer came');
    const ids: Ids = {
      frameworkId: framework.frameworkId.value,
      streamId: framework.streamId,
      offerId,
      agentId,
    };
    const agent = cluster.agents[0];
    assert.ok(agent !== undefined);
    const master = new URL(cluster.masterUrl);
    const metricNames = async () =>
      Object.keys(JSON.parse(await fetchText(new URL('/metrics/snapshot', master))) as object);
    const stateBefore = await fetchText(new URL('/master/state', master));
    const agentStateUrl = new URL('/slave(1)/state', agent.url);
    const agentStateBefore = await fetchText(agentStateUrl);
    const metricsBefore = await metricNames();
    const rssBefore = rssBytes(cluster.master.pid);

    const counts: Counts = { generated: 0, skippedValid: 0 };
    const probes = allProbes(mulberry32(SEED), ids, join(cluster.workDir, agent.name), counts);
    const masterCpuBefore = cpuSeconds(cluster.master.pid);
    const ownCpuBefore = process.cpuUsage();
    const started = performance.now();
    const outcomes = await sendAll(probes, { master, agent: new URL(agent.url) });
    const elapsedMs = performance.now() - started;
    t.diagnostic(
      `${probes.length} requests, ${Math.round(bodyBytes(probes) / MiB)} MiB, in ${Math.round(elapsedMs)} ms ` +
        `(of ${counts.generated} call mutants, ${counts.skippedValid} were still valid and not sent)`,
    );
    const ownCpu = process.cpuUsage(ownCpuBefore);
    t.diagnostic(
      `CPU: master ${(cpuSeconds(cluster.master.pid) - masterCpuBefore).toFixed(1)} s, ` +
        `this process ${((ownCpu.user + ownCpu.system) / 1e6).toFixed(1)} s`,
    );
    const slowest = [...outcomes].sort((a, b) => b.ms - a.ms).slice(0, 3);
    t.diagnostic(
      `slowest: ${slowest.map((o) => `${o.probe.route} [${o.probe.label}] ${Math.round(o.ms)} ms`).join('; ')}`,
    );
    const byRoute = new Map<string, { count: number; ms: number }>();
    for (const o of outcomes) {
      const key = `${o.probe.daemon} ${o.probe.route}`;
      const entry = byRoute.get(key) ?? { count: 0, ms: 0 };
      byRoute.set(key, { count: entry.count + 1, ms: entry.ms + o.ms });
    }
    t.diagnostic(
      `most time: ${[...byRoute]
        .sort((a, b) => b[1].ms - a[1].ms)
        .slice(0, 5)
        .map(([route, { count, ms }]) => `${route} ${count} requests ${Math.round(ms / 1000)} s`)
        .join('; ')}`,
    );
    const failures = outcomes.map(failureOf).filter((f) => f !== undefined);
    assert.deepEqual(failures.slice(0, 30), [], `${failures.length} of ${outcomes.length} failed`);

    assert.ok(isAlive(cluster.master.pid), 'the master is alive');
    assert.ok(isAlive(agent.pid), 'the agent is alive');
    const rssAfter = rssBytes(cluster.master.pid);
    t.diagnostic(
      `master RSS ${Math.round(rssBefore / MiB)} MiB before, ${Math.round(rssAfter / MiB)} MiB after`,
    );
    assert.ok(
      rssAfter - rssBefore < MAX_RSS_GROWTH_BYTES,
      `RSS grew by ${Math.round((rssAfter - rssBefore) / MiB)} MiB`,
    );
    const stateThen = JSON.stringify(normalised(JSON.parse(stateBefore)));
    const stateNow = JSON.stringify(
      normalised(JSON.parse(await fetchText(new URL('/master/state', master)))),
    );
    assert.equal(stateNow.length, stateThen.length, '/master/state is the same size');
    assert.deepEqual(JSON.parse(stateNow), JSON.parse(stateThen));
    assert.deepEqual(await metricNames(), metricsBefore, 'no metric appeared or went');
    assert.deepEqual(
      normalised(JSON.parse(await fetchText(agentStateUrl))),
      normalised(JSON.parse(agentStateBefore)),
      "the agent's state is as it was",
    );

    // The cluster still runs a task once the hostile framework lets its offers go.
    await framework.teardown();
    await framework.close({ drainMs: 0 });
    framework = undefined;
    const run = await runCli(['run', '--master', cluster.masterUrl, '--', 'echo', 'ok'], {
      timeoutMs: 60_000,
    }).result;
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^ok$/m);
  });
});

// `agora up --ha` as a user runs it: a local coordinator, three masters and two
// agents from one command. Killing the leader costs nothing a user would see: a
// standby takes over, the agents follow it, `up` restarts the killed master, and
// Ctrl-C still stops every process, the coordinator's JVM included.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { elected } from '../ha/bed.js';
import { defer, descendants, getState, isAlive, runCli, waitFor } from './harness.js';

/** Short sessions so a failover takes seconds; up's ZooKeeper allows down to 1 s, etcd 2 s. */
const SESSION = '2secs';
const FAILOVER_TIMEOUT_MS = 40_000;

/** The one master of `urls` that leads, once every one answers and exactly one leads. */
function leader(urls: readonly string[], timeoutMs = FAILOVER_TIMEOUT_MS): Promise<string> {
  return waitFor(
    'exactly one of the masters to lead',
    async () => {
      const flags = await Promise.all(urls.map(elected));
      const leading = urls.filter((_, i) => flags[i] === 1);
      return flags.every((f) => f !== undefined) && leading.length === 1 ? leading[0] : undefined;
    },
    timeoutMs,
  );
}

/** The PID listening on `url`'s port, among `up`'s children. */
function pidOf(url: string, candidates: readonly number[]): number | undefined {
  const port = Number(new URL(url).port);
  return candidates.find((pid) => {
    try {
      return listeningPorts(pid).has(port);
    } catch {
      return false;
    }
  });
}

/** Ports a process listens on: its socket inodes matched against /proc/net/tcp. */
function listeningPorts(pid: number): Set<number> {
  const inodes = new Set(
    readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        return match?.[1] !== undefined ? [match[1]] : [];
      } catch {
        return [];
      }
    }),
  );
  const ports = new Set<number>();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    // st 0A is LISTEN; field 9 is the inode.
    if (fields[3] === '0A' && inodes.has(fields[9] ?? ''))
      ports.add(Number.parseInt(fields[1]?.split(':')[1] ?? '0', 16));
  }
  return ports;
}

for (const kind of ['zookeeper', 'etcd'] as const) {
  test(`agora up --ha${kind === 'etcd' ? '=etcd' : ''} survives killing the leader, and Ctrl-C stops every process`, async (t) => {
    const workDir = mkdtempSync(join(tmpdir(), 'agora-up-ha-'));
    defer(t, () => rmSync(workDir, { recursive: true, force: true }));
    const up = runCli(
      [
        'up',
        kind === 'etcd' ? '--ha=etcd' : '--ha',
        '--port',
        '0',
        '--coordinator_port',
        '0',
        '--zk_session_timeout',
        SESSION,
        '--agents',
        '2',
        '--agent_resources',
        'cpus:1;mem:512',
        '--work_dir',
        workDir,
      ],
      // Its own process group: the cleanup reaches everything it started, should it fail.
      { timeoutMs: 180_000, detached: true },
    );
    defer(t, async () => {
      up.killAll();
      await up.result;
    });
    let stdout = '';
    let stderr = '';
    up.process.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    up.process.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const banner = await waitFor(
      'the banner',
      () =>
        /Agora is up, highly available: 3 masters .*\nMasters: (.*)\./.exec(stdout) ?? undefined,
      90_000,
    );
    const urls = (banner[1] ?? '').split(', ').map((entry) => entry.replace(' (leading)', ''));
    assert.equal(urls.length, 3, banner[0]);
    const clientUrl = /npx agora run --master ((?:zk|etcd):\/\/\S+)/.exec(stdout)?.[1];
    assert.ok(clientUrl !== undefined, stdout);

    // A task through the coordinator URL, as the banner says to.
    const run = await runCli(['run', '--master', clientUrl, '--', 'echo through-ha']).result;
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'through-ha\n');

    const old = await leader(urls);
    const before = await getState(old);
    const agentIds = before.slaves.map((s) => s.id).sort();
    assert.equal(agentIds.length, 2);
    const upPid = up.process.pid ?? -1;
    const children = descendants(upPid);
    const oldPid = pidOf(old, children);
    assert.ok(oldPid !== undefined, `the leader's process among up's (${children.join(' ')})`);
    const killedAt = performance.now();
    process.kill(oldPid, 'SIGKILL');

    const next = await leader(urls.filter((url) => url !== old));
    const electedMs = performance.now() - killedAt;
    await waitFor(
      'both agents to re-register with the new leader, with their ids',
      async () => {
        const { slaves } = await getState(next);
        const active = slaves
          .filter((s) => s.active)
          .map((s) => s.id)
          .sort();
        return JSON.stringify(active) === JSON.stringify(agentIds) ? true : undefined;
      },
      FAILOVER_TIMEOUT_MS,
    );
    assert.match(stderr, /agora up: master-\d exited \(signal SIGKILL\); restarting it in 1 s/);
    // The killed master is back on its port, as a standby of the new leader.
    assert.equal(await leader(urls), next);
    const again = await runCli(['run', '--master', clientUrl, '--', 'echo after-failover']).result;
    assert.equal(again.code, 0, again.stderr);
    t.diagnostic(`new leader ${Math.round(electedMs)} ms after SIGKILL (session ${SESSION})`);

    const everything = descendants(upPid);
    assert.ok(everything.length >= 6, `a coordinator, 3 masters, 2 agents: ${everything.length}`);
    up.process.kill('SIGINT');
    const { code } = await up.result;
    assert.equal(code, 0, stderr);
    for (const pid of everything) assert.equal(isAlive(pid), false, `process ${pid} is gone`);
    assert.doesNotMatch(stderr, /giving up|cannot run without/);
  });
}

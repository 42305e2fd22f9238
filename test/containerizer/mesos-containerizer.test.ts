// The Mesos containerizer with real processes: the shim records how tasks end,
// a second containerizer (a restarted agent) re-attaches to what the first
// launched, and cgroups (where this host has them) limit and account tasks.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  type Container,
  ContainerCgroup,
  detectCgroups,
  type Isolation,
  ledgerIds,
  MesosContainerizer,
  readStat,
  type Termination,
} from '../../src/containerizer/index.js';
import { Resources } from '../../src/resources/index.js';

const detection = detectCgroups(readFileSync('/proc/self/mountinfo', 'utf8'));
const isRoot = process.getuid?.() === 0;
const cgroupsSkip =
  detection.kind !== 'available'
    ? `cgroups unavailable: ${detection.reason}`
    : !isRoot
      ? 'cgroups need root'
      : false;

function bed(
  t: TestContext,
  isolation: Isolation = { kind: 'posix' },
  options: { readonly parkQuietMs?: number } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'agora-containerizer-'));
  const containerizer = new MesosContainerizer({
    isolation,
    ledgerDir: join(dir, 'ledger'),
    ...options,
  });
  const launched: Container[] = [];
  t.after(async () => {
    await containerizer.close();
    for (const container of launched) container.signal('SIGKILL');
    await Promise.all(launched.map((c) => c.terminated));
    try {
      for (const container of launched) await containerizer.cleanup(container.id);
      if (isolation.kind === 'cgroups') removeRoot(isolation);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  let n = 0;
  const launch = async (command: string, resources = 'cpus:0.1;mem:64', id = `c${n++}`) => {
    const sandbox = join(dir, id, 'sandbox');
    const runtimeDir = join(dir, id, 'runtime');
    mkdirSync(sandbox, { recursive: true });
    const container = await containerizer.launch({
      containerId: `agora-test-${process.pid}-${id}`,
      sandbox,
      runtimeDir,
      command: { value: command },
      environment: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      resources: Resources.parse(resources),
    });
    launched.push(container);
    return { container, sandbox, runtimeDir, containerId: container.id };
  };
  return { containerizer, launch, dir };
}

/** Removes a test's cgroups root (empty once its containers are cleaned up). */
function removeRoot(isolation: Extract<Isolation, { kind: 'cgroups' }>): void {
  const { hierarchy, root } = isolation;
  const mounts = hierarchy.version === 'v1' ? Object.values(hierarchy.mounts) : [hierarchy.mount];
  for (const mount of new Set(mounts))
    try {
      rmdirSync(join(mount, root));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
}

/**
 * A deadline for promises that must settle (a hung test says what it waited
 * for). Its timer holds the event loop open: a re-attached container is watched
 * by an unref'd poll, as an agent's server keeps the loop alive.
 */
async function within<T>(what: string, promise: Promise<T>, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

test('mesos containerizer runs a task under the shim and reports its exit status', async (t) => {
  const { launch } = bed(t);
  const { container, sandbox } = await launch('echo out; echo err >&2; exit 3');
  const termination = await within('the task to end', container.terminated);
  assert.deepEqual(termination, { exitCode: 3, signal: null });
  assert.equal(readFileSync(join(sandbox, 'stdout'), 'utf8'), 'out\n');
  assert.equal(readFileSync(join(sandbox, 'stderr'), 'utf8'), 'err\n');
});

test('mesos containerizer signals the task, not the shim, and records the signal', async (t) => {
  const { launch } = bed(t);
  const { container } = await launch('sleep 100');
  // The launch does not wait for the task's setsid; the task leads its group soon after.
  await within(
    'the task to lead its own group',
    (async () => {
      while (readStat(container.pid)?.pgid !== container.pid) await delay(5);
    })(),
  );
  container.signal('SIGTERM');
  const termination = await within('the task to end', container.terminated);
  assert.deepEqual(termination, { exitCode: null, signal: 'SIGTERM' });
});

test('mesos containerizer records the task in one file: its PID, then its start time', async (t) => {
  const { launch } = bed(t);
  const { container, runtimeDir } = await launch('sleep 100');
  const startTime = readStat(container.pid)?.startTime;
  assert.equal(
    readFileSync(join(runtimeDir, 'task.pid'), 'utf8'),
    `${container.pid}\n${startTime}\n`,
  );
  assert.ok(!existsSync(join(runtimeDir, 'task.start_time')), 'no second file');
  assert.ok(!existsSync(join(runtimeDir, 'launch.claim')), 'the claim is task.pid');
});

test('mesos containerizer ends a task signalled as soon as its launch resolves', async (t) => {
  const { launch } = bed(t);
  // The command forks at once: a signal that beat the task's setsid must still end it all.
  const { container, sandbox } = await launch('sleep 100 & echo $! > child; wait');
  container.signal('SIGKILL');
  const termination = await within('the task to end', container.terminated);
  assert.deepEqual(termination, { exitCode: null, signal: 'SIGKILL' });
  const child = existsSync(join(sandbox, 'child'))
    ? Number(readFileSync(join(sandbox, 'child'), 'utf8'))
    : undefined;
  if (child !== undefined) {
    await within(
      "the task's child to be gone",
      (async () => {
        while (readStat(child) !== undefined) await delay(5);
      })(),
    );
  }
});

test('mesos containerizer re-attaches to a running task after a restart, same PID', async (t) => {
  const first = bed(t);
  const { container, runtimeDir, containerId } = await first.launch('sleep 1000');
  // The agent dies: its containerizer is gone; the shim and task live on.
  first.containerizer.close();
  const second = new MesosContainerizer({ isolation: { kind: 'posix' } });
  t.after(() => second.close());
  const found = await second.recover([
    { containerId, runtimeDir, resources: Resources.parse('cpus:0.1;mem:64') },
  ]);
  const again = found.get(containerId);
  assert.ok(again !== undefined && 'pid' in again, 'the running task is re-attached');
  assert.equal(again.pid, container.pid);
  again.signal('SIGKILL');
  const termination = await within('the re-attached task to end', again.terminated);
  assert.deepEqual(termination, { exitCode: null, signal: 'SIGKILL' });
});

test('mesos containerizer recovers the real exit status of a task that ended while no agent ran', async (t) => {
  const first = bed(t);
  const { container, runtimeDir, containerId } = await first.launch('sleep 0.2; exit 7');
  first.containerizer.close();
  await within('the task to end', container.terminated);
  const second = new MesosContainerizer({ isolation: { kind: 'posix' } });
  t.after(() => second.close());
  const found = await second.recover([
    { containerId, runtimeDir, resources: Resources.parse('cpus:0.1;mem:64') },
  ]);
  assert.deepEqual(found.get(containerId), { exitCode: 7, signal: null });
});

test('mesos containerizer waits for the shim of a re-attached task to record its end, not calling it unknown', async (t) => {
  // This test plays the shim: its child is the task, and it records the exit status a
  // moment after reaping it, as a shim does (the agent fault loop caught the gap).
  const dir = mkdtempSync(join(tmpdir(), 'agora-containerizer-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const task = spawn('sleep', ['0.5'], { stdio: 'ignore' });
  const pid = task.pid ?? -1;
  writeFileSync(join(dir, 'task.pid'), `${pid}\n`);
  writeFileSync(join(dir, 'task.start_time'), readStat(pid)?.startTime ?? '');
  const containerizer = new MesosContainerizer({ isolation: { kind: 'posix' } });
  t.after(() => containerizer.close());
  const found = await containerizer.recover([
    { containerId: 'slow-shim', runtimeDir: dir, resources: Resources.parse('cpus:0.1;mem:64') },
  ]);
  const container = found.get('slow-shim');
  assert.ok(container !== undefined && 'pid' in container, 'the task is re-attached');
  await once(task, 'exit');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  writeFileSync(join(dir, 'exit_status'), '0\n');
  const termination = await within('the re-attached task to end', container.terminated);
  assert.deepEqual(termination, { exitCode: 0, signal: null });
});

test('mesos containerizer recovers the end of a task that ended just before, once its shim records it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'agora-containerizer-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const task = spawn('true', { stdio: 'ignore' });
  const pid = task.pid ?? -1;
  writeFileSync(join(dir, 'task.pid'), `${pid}\n${readStat(pid)?.startTime ?? ''}\n`);
  await once(task, 'exit');
  // The shim records the end a moment after the task is gone, here after recovery began.
  const shim = setTimeout(() => writeFileSync(join(dir, 'exit_status'), '0\n'), 200);
  t.after(() => clearTimeout(shim));
  const containerizer = new MesosContainerizer({ isolation: { kind: 'posix' } });
  t.after(() => containerizer.close());
  const found = await containerizer.recover([
    { containerId: 'just-ended', runtimeDir: dir, resources: Resources.parse('cpus:0.1;mem:64') },
  ]);
  assert.deepEqual(found.get('just-ended'), { exitCode: 0, signal: null });
});

test('mesos containerizer never takes a recycled PID for its task', async (t) => {
  const { dir } = bed(t);
  const runtimeDir = join(dir, 'stale');
  mkdirSync(runtimeDir, { recursive: true });
  // A record naming a live process (this test) that started at another time.
  writeFileSync(join(runtimeDir, 'task.pid'), `${process.pid}\n1\n`);
  const containerizer = new MesosContainerizer({ isolation: { kind: 'posix' } });
  t.after(() => containerizer.close());
  const found = await containerizer.recover([
    { containerId: 'stale', runtimeDir, resources: Resources.parse('cpus:0.1;mem:64') },
  ]);
  const termination = found.get('stale') as Termination;
  assert.equal(termination.isUnknown, true, 'gone, with nothing to say how');
});

test('cgroups isolation reports a task the kernel killed for memory', {
  skip: cgroupsSkip,
}, async (t) => {
  if (detection.kind !== 'available') return;
  const { launch } = bed(t, {
    kind: 'cgroups',
    hierarchy: detection.hierarchy,
    root: `agora-test-${process.pid}`,
    enableCfs: false,
    pidsMax: 1024,
  });
  // dd reads into one buffer of bs bytes: 256 MB of it against a 32 MB limit.
  const { container } = await launch(
    'dd if=/dev/zero of=/dev/null bs=256M count=1 2>/dev/null',
    'cpus:0.5;mem:32',
  );
  const termination = await within('the OOM kill', container.terminated, 30_000);
  assert.equal(termination.limitation?.reason, 'REASON_CONTAINER_LIMITATION_MEMORY');
  assert.match(termination.limitation?.message ?? '', /Requested: 32MB Maximum Used: \d+MB/);
});

/** Whether this process has a parked shim's FIFO open (shim-parking.ts: the slot is ready). */
function holdsParkedFifo(): boolean {
  for (const fd of readdirSync('/proc/self/fd'))
    try {
      if (/\/parked-[^/]*\.fifo$/.test(readlinkSync(`/proc/self/fd/${fd}`))) return true;
    } catch {
      // Closed meanwhile.
    }
  return false;
}

/** The parked cgroups (shim-parking.ts) under `root`, in any hierarchy. */
function parkedCgroups(isolation: Extract<Isolation, { kind: 'cgroups' }>): string[] {
  const { hierarchy, root } = isolation;
  const mounts = hierarchy.version === 'v1' ? Object.values(hierarchy.mounts) : [hierarchy.mount];
  const out: string[] = [];
  for (const mount of new Set(mounts)) {
    let names: string[] = [];
    try {
      names = readdirSync(join(mount, root));
    } catch {
      // No root.
    }
    for (const name of names) if (name.startsWith('parked-')) out.push(join(mount, root, name));
  }
  return out;
}

test('cgroups v1: a launch after a quiet moment takes the parked shim, which is in the cgroup already; close leaves no parked process or cgroup', {
  skip: cgroupsSkip || (detection.kind === 'available' && detection.hierarchy.version !== 'v1'),
}, async (t) => {
  if (detection.kind !== 'available') return;
  const isolation = {
    kind: 'cgroups',
    hierarchy: detection.hierarchy,
    root: `agora-test-${process.pid}-park`,
    enableCfs: false,
    pidsMax: 1024,
  } as const;
  const { launch, containerizer, dir } = bed(t, isolation);
  // The first launch parks the next one's shim once launches stop for a moment.
  const first = await launch('exit 0');
  await within('the first task', first.container.terminated);
  // Ready once it said so: the containerizer (this process) then holds its FIFO open.
  const parkedPid = await readyParkedShim(isolation);
  const ledger = ledgerIds(join(dir, 'ledger'));
  assert.ok(
    ledger.some((name) => name.startsWith('parked-')),
    `the parked cgroup is in the ledger: ${ledger.join(', ')}`,
  );
  // The task's parent is the parked shim: no process joined the cgroup on the task's path.
  const second = await launch('echo $PPID > parent; cat /proc/self/cgroup > cgroups; sleep 1000');
  const recorded = await within(
    "the task's parent",
    (async () => {
      for (;;) {
        const text = existsSync(join(second.sandbox, 'parent'))
          ? readFileSync(join(second.sandbox, 'parent'), 'utf8').trim()
          : '';
        if (text !== '') return Number(text);
        await delay(10);
      }
    })(),
  );
  assert.equal(recorded, parkedPid, 'the parked shim started the task');
  await delay(50);
  assert.match(
    readFileSync(join(second.sandbox, 'cgroups'), 'utf8'),
    new RegExp(second.containerId),
  );
  const cgroup = new ContainerCgroup(detection.hierarchy, isolation.root, second.containerId);
  assert.ok(cgroup.pids().includes(second.container.pid), "the task is in its container's cgroup");
  if (detection.hierarchy.version === 'v1')
    assert.equal(
      readFileSync(
        join(
          detection.hierarchy.mounts.memory,
          isolation.root,
          second.containerId,
          'memory.limit_in_bytes',
        ),
        'utf8',
      ).trim(),
      String(64 * 1024 * 1024),
      "the container's limits are written",
    );
  second.container.signal('SIGKILL');
  await within('the second task', second.container.terminated);
  // Another is parked after the launch; close() takes it, process and cgroup.
  const next = await within(
    'the next parked shim',
    (async () => {
      for (;;) {
        const found = parkedCgroups(isolation);
        const pids = found.flatMap((path) =>
          readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean),
        );
        if (pids.length > 0) return Number(pids[0]);
        await delay(10);
      }
    })(),
  );
  await containerizer.close();
  assert.deepEqual(parkedCgroups(isolation), [], 'no parked cgroup is left');
  await within(
    'the parked shim to be gone',
    (async () => {
      while (readStat(next) !== undefined && readStat(next)?.isZombie !== true) await delay(10);
    })(),
  );
  assert.deepEqual(
    ledgerIds(join(dir, 'ledger')).filter((name) => name.startsWith('parked-')),
    [],
    'the ledger forgot it',
  );
});

test('cgroups v1: close while the next shim is being parked leaves nothing in the root, which then goes', {
  skip: cgroupsSkip || (detection.kind === 'available' && detection.hierarchy.version !== 'v1'),
}, async (t) => {
  if (detection.kind !== 'available') return;
  // A shim is parked soon after a lone launch (10 ms after its shim reports) or 50 ms
  // after a burst. Closing around then once found its cgroup removed before it joined (or
  // its FIFO ended before it was killed): it moved itself into the containers' root on its
  // way out, and the root's rmdir failed (EBUSY). Closing every 3 ms across both moments:
  // the root goes every time.
  const dir = mkdtempSync(join(tmpdir(), 'agora-containerizer-'));
  const roots: string[] = [];
  const mounts =
    detection.hierarchy.version === 'v1'
      ? [...new Set(Object.values(detection.hierarchy.mounts))]
      : [];
  t.after(async () => {
    // A shim that did land in a root is gone within moments; then its root can go.
    await delay(500);
    for (const root of roots)
      for (const mount of mounts)
        try {
          rmdirSync(join(mount, root));
        } catch {
          // Gone already (each round removes its own).
        }
    rmSync(dir, { recursive: true, force: true });
  });
  for (let round = 0; round < 24; round += 1) {
    const root = `agora-test-${process.pid}-close-${round}`;
    roots.push(root);
    const containerizer = new MesosContainerizer({
      isolation: {
        kind: 'cgroups',
        hierarchy: detection.hierarchy,
        root,
        enableCfs: false,
        pidsMax: 1024,
      },
      ledgerDir: join(dir, `ledger-${round}`),
    });
    const sandbox = join(dir, `sandbox-${round}`);
    mkdirSync(sandbox);
    const container = await containerizer.launch({
      containerId: `agora-test-${process.pid}-close-${round}`,
      sandbox,
      runtimeDir: join(dir, `runtime-${round}`),
      command: { value: 'exit 0' },
      environment: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      resources: Resources.parse('cpus:0.1;mem:64'),
    });
    await within('the task', container.terminated);
    await delay(round * 3);
    await within('close', containerizer.close());
    await within('the cleanup', containerizer.cleanup(container.id));
    for (const mount of mounts) {
      const path = join(mount, root);
      let busy = '';
      try {
        rmdirSync(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        busy = `${(error as Error).message}; in it: ${readFileSync(join(path, 'cgroup.procs'), 'utf8').trim() || 'no process'}, ${
          readdirSync(path, { withFileTypes: true })
            .filter((entry) => entry.isDirectory())
            .map((entry) => entry.name)
            .join(' ') || 'no cgroup'
        }`;
      }
      assert.equal(busy, '', `round ${round}: ${path} removed right after close`);
    }
  }
});

/** The parked shim's PID once one is ready (its cgroup holds it and this process its FIFO). */
async function readyParkedShim(
  isolation: Extract<Isolation, { kind: 'cgroups' }>,
  deadlineMs = 10_000,
): Promise<number> {
  const until = performance.now() + deadlineMs;
  while (performance.now() < until) {
    const pids = parkedCgroups(isolation).flatMap((path) =>
      readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean),
    );
    if (pids.length > 0 && holdsParkedFifo()) return Number(pids[0]);
    await delay(10);
  }
  throw new Error(`no shim parked within ${deadlineMs} ms`);
}

test('cgroups v1: a lone launch parks the next shim once its task has started, not after the quiet spell that ends a burst', {
  skip: cgroupsSkip || (detection.kind === 'available' && detection.hierarchy.version !== 'v1'),
}, async (t) => {
  if (detection.kind !== 'available') return;
  const isolation = {
    kind: 'cgroups',
    hierarchy: detection.hierarchy,
    root: `agora-test-${process.pid}-lone`,
    enableCfs: false,
    pidsMax: 1024,
  } as const;
  // A quiet spell far longer than the test: a shim parked now was parked for the lone launch.
  // (One `agora run` after another comes ~60 ms apart; with the spell's 50 ms and a park's
  // 10-30 ms, the second missed the parked shim.)
  const { launch } = bed(t, isolation, { parkQuietMs: 600_000 });
  const first = await launch('sleep 1000');
  const parkedPid = await readyParkedShim(isolation);
  const second = await launch('echo $PPID > parent; sleep 1000');
  const parent = await within(
    "the second task's parent",
    (async () => {
      const until = performance.now() + 10_000;
      while (performance.now() < until) {
        const path = join(second.sandbox, 'parent');
        const text = existsSync(path) ? readFileSync(path, 'utf8').trim() : '';
        if (text !== '') return Number(text);
        await delay(10);
      }
      return undefined;
    })(),
  );
  assert.equal(parent, parkedPid, 'the parked shim started the second task');
  first.container.signal('SIGKILL');
  second.container.signal('SIGKILL');
});

test('cgroups isolation kills what double-forked away, and leaves no cgroup', {
  skip: cgroupsSkip,
}, async (t) => {
  if (detection.kind !== 'available') return;
  const root = `agora-test-${process.pid}`;
  const { launch, containerizer } = bed(t, {
    kind: 'cgroups',
    hierarchy: detection.hierarchy,
    root,
    enableCfs: false,
    pidsMax: 1024,
  });
  const { container, containerId, sandbox } = await launch(
    `(setsid sh -c 'echo $$ > escaped; exec sleep 1000' &); sleep 1000`,
  );
  const escaped = await within(
    'the escaped process',
    (async () => {
      for (;;) {
        if (existsSync(join(sandbox, 'escaped'))) {
          const pid = Number(readFileSync(join(sandbox, 'escaped'), 'utf8'));
          if (pid > 0) return pid;
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })(),
  );
  assert.notEqual(readStat(escaped)?.pgid, container.pid, 'it left the task group');
  container.signal('SIGKILL');
  await within('the container to end', container.terminated);
  assert.equal(readStat(escaped), undefined, 'the escaped process is dead too');
  await containerizer.cleanup(containerId);
  const dirs =
    detection.hierarchy.version === 'v1'
      ? Object.values(detection.hierarchy.mounts).map((m) => join(m, root, containerId))
      : [join(detection.hierarchy.mount, root, containerId)];
  for (const dir of dirs) assert.equal(existsSync(dir), false, `${dir} is removed`);
});

test('cgroups: processes that keep joining a cgroup as it is cleaned up are killed, and the cgroup still goes', {
  skip: cgroupsSkip,
}, async (t) => {
  if (detection.kind !== 'available') return;
  const root = `agora-test-${process.pid}-join`;
  const { launch, containerizer } = bed(t, {
    kind: 'cgroups',
    hierarchy: detection.hierarchy,
    root,
    enableCfs: false,
    pidsMax: 1024,
  });
  const { container, containerId } = await launch('exec sleep 1000');
  const members = () =>
    readFileSync(container.cgroupProcsFiles[0] ?? '', 'utf8')
      .trim()
      .split('\n');
  const ownCount = members().length;
  // As a health-check probe enters a container that is ending: for 0.8 s, a new process
  // joins the container's cgroups every 20 ms, from outside it.
  const joiner = spawn(
    '/bin/sh',
    [
      '-c',
      'end=$(( $(date +%s%N) + 800000000 )); while [ "$(date +%s%N)" -lt "$end" ]; do sh -c \'for f in "$@"; do echo $$ > "$f"; done; exec sleep 100\' sh "$@" & done; wait',
      'sh',
      ...container.cgroupProcsFiles,
    ],
    { stdio: 'ignore', detached: true },
  );
  const joinerExited = once(joiner, 'exit');
  t.after(async () => {
    try {
      process.kill(-(joiner.pid ?? -1), 'SIGKILL');
    } catch {
      // Gone already.
    }
    await joinerExited;
  });
  await within(
    'a process to join from outside',
    (async () => {
      while (members().length <= ownCount) await new Promise((resolve) => setTimeout(resolve, 10));
    })(),
  );
  container.signal('SIGKILL');
  await within('the container to end', container.terminated);
  await within('the cleanup', containerizer.cleanup(containerId), 20_000);
  const dirs =
    detection.hierarchy.version === 'v1'
      ? Object.values(detection.hierarchy.mounts).map((m) => join(m, root, containerId))
      : [join(detection.hierarchy.mount, root, containerId)];
  for (const dir of dirs) assert.equal(existsSync(dir), false, `${dir} is removed`);
});

test('cgroups isolation with CFS holds a busy task to its share of a CPU', {
  skip: cgroupsSkip,
}, async (t) => {
  if (detection.kind !== 'available') return;
  const { launch } = bed(t, {
    kind: 'cgroups',
    hierarchy: detection.hierarchy,
    root: `agora-test-${process.pid}`,
    enableCfs: true,
    pidsMax: 1024,
  });
  const { container } = await launch('while :; do :; done', 'cpus:0.2;mem:64');
  // Throttling shows in cpu.stat within a few 100 ms periods of a busy loop.
  await within(
    'the task to be throttled',
    (async () => {
      for (;;) {
        if ((container.usage().cpus_nr_throttled ?? 0) >= 3) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })(),
  );
  const usage = container.usage();
  assert.equal(usage.cpus_limit, 0.2);
  assert.ok((usage.cpus_nr_periods ?? 0) >= (usage.cpus_nr_throttled ?? 0));
  container.signal('SIGKILL');
});

test("cgroups: a recovering agent removes the cgroups it left, never another agent's", {
  skip: cgroupsSkip,
}, async (t) => {
  if (detection.kind !== 'available') return;
  const isolation: Isolation = {
    kind: 'cgroups',
    hierarchy: detection.hierarchy,
    root: `agora-test-${process.pid}`,
    enableCfs: false,
    pidsMax: 1024,
  };
  const { launch, dir } = bed(t, isolation);
  const { container } = await launch('sleep 1000');
  // A second agent on this host, same --cgroups_root, whose crash left an empty cgroup.
  const otherLedger = join(dir, 'other-ledger');
  const stray = new ContainerCgroup(
    detection.hierarchy,
    isolation.root,
    `agora-test-${process.pid}-stray`,
  );
  mkdirSync(otherLedger);
  writeFileSync(join(otherLedger, stray.containerId), '');
  stray.create({ cpuShares: 102, memoryLimitBytes: 64 * 1024 * 1024, pidsMax: 16 });
  // No parked shim: this test's after hooks remove the root before this one would close.
  const other = new MesosContainerizer({ isolation, ledgerDir: otherLedger, parkShims: false });
  t.after(() => other.close());

  await other.recover([]);
  assert.ok(!stray.directories.some(existsSync), 'the other agent removed its own stray cgroup');
  assert.ok(!ledgerIds(otherLedger).includes(stray.containerId), 'and forgot it');
  assert.notEqual(readStat(container.pid), undefined, "the first agent's task still runs");
});

/**
 * Signals `container` with SIGKILL over and over until it has ended, as a kill policy's
 * escalation meets a task already dying: every sweep of its cgroup comes while the shim
 * records how the task ended.
 */
async function hammer(container: Container): Promise<Termination> {
  let isEnded = false;
  const ended = container.terminated.finally(() => {
    isEnded = true;
  });
  while (!isEnded) {
    container.signal('SIGKILL');
    await new Promise((resolve) => setImmediate(resolve));
  }
  return ended;
}

test('cgroups isolation: a task killed while it ends still has its end recorded, never unknown', {
  skip: cgroupsSkip,
}, async (t) => {
  if (detection.kind !== 'available') return;
  const { launch } = bed(t, {
    kind: 'cgroups',
    hierarchy: detection.hierarchy,
    root: `agora-test-${process.pid}`,
    enableCfs: false,
    pidsMax: 1024,
  });
  const ends: string[] = [];
  for (let i = 0; i < 30; i++) {
    const { container } = await launch('sleep 100');
    const termination = await within('the task to end', hammer(container));
    ends.push(termination.isUnknown === true ? 'unknown' : String(termination.signal));
  }
  assert.deepEqual(new Set(ends), new Set(['SIGKILL']), ends.join(' '));
});

test('cgroups isolation: a re-attached task killed ends by the signal, its shim spared', {
  skip: cgroupsSkip,
}, async (t) => {
  if (detection.kind !== 'available') return;
  const isolation: Isolation = {
    kind: 'cgroups',
    hierarchy: detection.hierarchy,
    root: `agora-test-${process.pid}`,
    enableCfs: false,
    pidsMax: 1024,
  };
  const first = bed(t, isolation);
  const { container, runtimeDir, containerId } = await first.launch('sleep 1000');
  first.containerizer.close();
  const second = new MesosContainerizer({ isolation });
  t.after(() => second.close());
  const found = await second.recover([
    { containerId, runtimeDir, resources: Resources.parse('cpus:0.1;mem:64') },
  ]);
  const again = found.get(containerId);
  assert.ok(again !== undefined && 'pid' in again, 'the running task is re-attached');
  assert.equal(again.pid, container.pid);
  again.signal('SIGKILL');
  const termination = await within('the re-attached task to end', again.terminated);
  assert.deepEqual(termination, { exitCode: null, signal: 'SIGKILL' });
});

/** The launcher that forks a container's shim: the shim's parent. */
function launcherOf(container: Container): number {
  const shim = readStat(container.pid)?.ppid;
  const launcher = shim === undefined ? undefined : readStat(shim)?.ppid;
  assert.ok(launcher !== undefined && launcher > 1, 'the shim runs under the launcher');
  return launcher;
}

/** Zombie children of `pid` (ended, not yet reaped). */
function zombiesOf(pid: number): string[] {
  let children: string;
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  } catch {
    return [];
  }
  return children === ''
    ? []
    : children.split(' ').filter((child) => {
        try {
          return /\) Z /.test(readFileSync(`/proc/${child}/stat`, 'utf8'));
        } catch {
          return false;
        }
      });
}

test('mesos containerizer gives the task exactly its environment, every byte of it', async (t) => {
  const { containerizer, dir } = bed(t);
  const sandbox = join(dir, 'env', 'sandbox');
  mkdirSync(sandbox, { recursive: true });
  process.env.AGORA_TEST_AGENT_ONLY = 'the agent’s, not the task’s';
  t.after(() => delete process.env.AGORA_TEST_AGENT_ONLY);
  const odd = `it's "quoted" $HOME \`date\` \\ ; rm -rf /nowhere\nsecond line '\\''`;
  const container = await containerizer.launch({
    containerId: `agora-test-${process.pid}-env`,
    sandbox,
    runtimeDir: join(dir, 'env', 'runtime'),
    command: { value: 'printf %s "$ODD" > odd; env > env.txt' },
    environment: { PATH: process.env.PATH ?? '/usr/bin:/bin', ODD: odd, EMPTY: '' },
    resources: Resources.parse('cpus:0.1;mem:64'),
  });
  assert.deepEqual(await within('the task to end', container.terminated), {
    exitCode: 0,
    signal: null,
  });
  assert.equal(readFileSync(join(sandbox, 'odd'), 'utf8'), odd);
  const names = readFileSync(join(sandbox, 'env.txt'), 'utf8')
    .split('\n')
    .map((line) => line.split('=')[0])
    .filter((name) => /^[A-Z_]+$/.test(name ?? ''));
  assert.ok(names.includes('EMPTY'));
  assert.ok(!names.includes('AGORA_TEST_AGENT_ONLY'), 'nothing of the agent’s environment');
});

test('mesos containerizer passes variables the shell cannot name, and the shim’s own names, untouched', async (t) => {
  const { containerizer, dir } = bed(t);
  const run = async (id: string, environment: Record<string, string>) => {
    const sandbox = join(dir, id, 'sandbox');
    mkdirSync(sandbox, { recursive: true });
    const container = await containerizer.launch({
      containerId: `agora-test-${process.pid}-${id}`,
      sandbox,
      runtimeDir: join(dir, id, 'runtime'),
      command: { shell: false, value: '/usr/bin/env', arguments: ['env'] },
      environment,
      resources: Resources.parse('cpus:0.1;mem:64'),
    });
    assert.deepEqual(await within('the task to end', container.terminated), {
      exitCode: 0,
      signal: null,
    });
    return new Set(readFileSync(join(sandbox, 'stdout'), 'utf8').split('\n').filter(Boolean));
  };
  // Names the shim's shell uses itself: assigned for the task only, and the shim still reports.
  const own = await run('own', { task: '1', shim: '2', status: '3', IFS: ':', PATH: '/nowhere' });
  for (const line of ['task=1', 'shim=2', 'status=3', 'IFS=:', 'PATH=/nowhere'])
    assert.ok(own.has(line), `${line} reaches the task`);
  // A name no shell can assign goes through env -i, with the rest and PWD as before.
  const odd = await run('odd', { 'my-var': 'a b', '1X': "it's", PLAIN: 'p' });
  for (const line of ['my-var=a b', "1X=it's", 'PLAIN=p', `PWD=${join(dir, 'odd', 'sandbox')}`])
    assert.ok(odd.has(line), `${line} reaches the task`);
  assert.equal(odd.size, 4, `exactly the task's variables and PWD: ${[...odd].join(', ')}`);
});

test('mesos containerizer refuses a launch into a sandbox that is not there, saying so', async (t) => {
  const { containerizer, dir } = bed(t);
  await assert.rejects(
    containerizer.launch({
      containerId: `agora-test-${process.pid}-nosandbox`,
      sandbox: join(dir, 'missing'),
      runtimeDir: join(dir, 'nosandbox-runtime'),
      command: { value: 'true' },
      environment: {},
      resources: Resources.parse('cpus:0.1;mem:64'),
    }),
    /could not enter its sandbox/,
  );
});

test('cgroups isolation: a limit the kernel refuses fails the launch, says why in stderr, and leaves no cgroup', {
  skip: cgroupsSkip,
}, async (t) => {
  if (detection.kind !== 'available') return;
  const isolation: Isolation = {
    kind: 'cgroups',
    hierarchy: detection.hierarchy,
    root: `agora-test-${process.pid}-refused`,
    enableCfs: false,
    pidsMax: -5,
  };
  const { containerizer, dir } = bed(t, isolation);
  const sandbox = join(dir, 'refused', 'sandbox');
  mkdirSync(sandbox, { recursive: true });
  const containerId = `agora-test-${process.pid}-refused`;
  await assert.rejects(
    containerizer.launch({
      containerId,
      sandbox,
      runtimeDir: join(dir, 'refused', 'runtime'),
      command: { value: 'echo ran > ran' },
      environment: {},
      resources: Resources.parse('cpus:0.1;mem:64'),
    }),
    /limit or join its cgroups/,
  );
  assert.notEqual(readFileSync(join(sandbox, 'stderr'), 'utf8').trim(), '', 'stderr says why');
  assert.ok(!existsSync(join(sandbox, 'ran')), 'the task never ran');
  const cgroup = new ContainerCgroup(detection.hierarchy, isolation.root, containerId);
  assert.ok(!cgroup.directories.some(existsSync), 'its cgroup is gone');
  assert.deepEqual(
    ledgerIds(join(dir, 'ledger')).filter((id) => !id.startsWith('parked-')),
    [],
  );
});

test('mesos containerizer survives its launcher being killed: tasks keep reporting, launches go on', async (t) => {
  const { launch } = bed(t);
  const { container: first } = await launch('sleep 100');
  const launcher = launcherOf(first);
  process.kill(launcher, 'SIGKILL');
  // A new launch starts a new launcher...
  const { container: second } = await launch('exit 4');
  assert.deepEqual(await within('the second task to end', second.terminated), {
    exitCode: 4,
    signal: null,
  });
  // ...and the first task, whose launcher is gone, still reports how it ended.
  first.signal('SIGTERM');
  assert.deepEqual(await within('the first task to end', first.terminated), {
    exitCode: null,
    signal: 'SIGTERM',
  });
});

test('mesos containerizer leaves no ended shim unreaped', async (t) => {
  const { launch } = bed(t);
  const { container: keeper } = await launch('sleep 100');
  const launcher = launcherOf(keeper);
  const quick = await Promise.all([1, 2, 3, 4, 5].map(() => launch('true')));
  for (const { container } of quick) await within('a task to end', container.terminated);
  await waitUntil('the launcher to reap every ended shim', () => zombiesOf(launcher).length === 0);
  keeper.signal('SIGKILL');
  await within('the keeper to end', keeper.terminated);
});

async function waitUntil(what: string, isDone: () => boolean, ms = 5000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!isDone()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

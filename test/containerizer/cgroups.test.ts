import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  ContainerCgroup,
  detectCgroups,
  ownProcsFile,
  terminationFromShellStatus,
} from '../../src/containerizer/index.js';

const v1 = [
  '24 23 0:21 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '25 24 0:22 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
  '26 24 0:23 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct',
  '27 24 0:24 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '28 24 0:25 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids',
  '29 24 0:26 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
].join('\n');

const v2 = '30 24 0:27 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate';

test('cgroups detection prefers v1 when every controller is mounted, co-mounted or not', () => {
  const found = detectCgroups(v1, () => '');
  assert.deepEqual(found, {
    kind: 'available',
    hierarchy: {
      version: 'v1',
      mounts: {
        cpu: '/sys/fs/cgroup/cpu',
        cpuacct: '/sys/fs/cgroup/cpuacct',
        memory: '/sys/fs/cgroup/memory',
        pids: '/sys/fs/cgroup/pids',
      },
    },
  });
  const comounted = v1.replace(
    '0:22 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
    '0:22 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct',
  );
  const both = detectCgroups(comounted, () => '');
  assert.equal(both.kind, 'available');
  if (both.kind === 'available' && both.hierarchy.version === 'v1')
    assert.equal(both.hierarchy.mounts.cpu, '/sys/fs/cgroup/cpu,cpuacct');
});

test('cgroups detection takes the unified tree when it offers cpu, memory and pids', () => {
  assert.deepEqual(
    detectCgroups(v2, () => 'cpuset cpu io memory hugetlb pids rdma\n'),
    {
      kind: 'available',
      hierarchy: { version: 'v2', mount: '/sys/fs/cgroup' },
    },
  );
  const lacking = detectCgroups(v2, () => 'cpu io\n');
  assert.equal(lacking.kind, 'unavailable');
  if (lacking.kind === 'unavailable') assert.match(lacking.reason, /memory, pids/);
});

test('cgroups detection says why it cannot use a host', () => {
  const none = detectCgroups('24 23 0:21 / / rw - ext4 /dev/vda rw', () => undefined);
  assert.deepEqual(none, { kind: 'unavailable', reason: 'no cgroup filesystem is mounted' });
  const partial = detectCgroups(v1.split('\n').slice(0, 3).join('\n'), () => undefined);
  assert.equal(partial.kind, 'unavailable');
  if (partial.kind === 'unavailable') assert.match(partial.reason, /memory, pids are not mounted/);
});

test('shell wait statuses read as exit codes, and 129-192 as signals', () => {
  assert.deepEqual(terminationFromShellStatus('0\n'), { exitCode: 0, signal: null });
  assert.deepEqual(terminationFromShellStatus('3'), { exitCode: 3, signal: null });
  assert.deepEqual(terminationFromShellStatus('143'), { exitCode: null, signal: 'SIGTERM' });
  assert.deepEqual(terminationFromShellStatus('137'), { exitCode: null, signal: 'SIGKILL' });
  assert.deepEqual(terminationFromShellStatus('200'), { exitCode: 200, signal: null });
  for (const bad of ['', 'x', '-1', '256', '1.5'])
    assert.equal(terminationFromShellStatus(bad), undefined, bad);
});

test("a process's own procs file: v1's cpu hierarchy, co-mounted or not; v2's one tree", () => {
  const mounts = {
    cpu: '/sys/fs/cgroup/cpu',
    cpuacct: '/sys/fs/cgroup/cpuacct',
    memory: '/sys/fs/cgroup/memory',
    pids: '/sys/fs/cgroup/pids',
  };
  const hierarchy = { version: 'v1', mounts } as const;
  const self = [
    '9:name=systemd:/',
    '8:pids:/',
    '4:memory:/process_api/f764',
    '2:cpuacct:/',
    '1:cpu:/agent.slice/a',
    '0::/',
    '',
  ].join('\n');
  assert.equal(ownProcsFile(hierarchy, self), '/sys/fs/cgroup/cpu/agent.slice/a/cgroup.procs');
  assert.equal(
    ownProcsFile(
      { version: 'v1', mounts: { ...mounts, cpu: '/sys/fs/cgroup/cpu,cpuacct' } },
      '3:cpu,cpuacct:/x\n',
    ),
    '/sys/fs/cgroup/cpu,cpuacct/x/cgroup.procs',
  );
  assert.equal(
    ownProcsFile({ version: 'v2', mount: '/sys/fs/cgroup' }, '0::/system.slice/agora.service\n'),
    '/sys/fs/cgroup/system.slice/agora.service/cgroup.procs',
  );
  // No line for the hierarchy (or a malformed one): nothing to write to.
  assert.equal(ownProcsFile(hierarchy, '8:pids:/\n0::/\n'), undefined);
  assert.equal(ownProcsFile(hierarchy, 'garbage'), undefined);
});

test('a container cgroup reads its OOM kills from one file, v1 or v2, and its peak on demand', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'agora-cgroups-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (path: string, text: string) => {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  file('memory/agora/c1/memory.oom_control', 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
  file('memory/agora/c1/memory.max_usage_in_bytes', '33554432\n');
  file('unified/agora/c1/memory.events', 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n');
  file('unified/agora/c1/memory.peak', '1024\n');
  const mount = (name: string) => join(dir, name);
  const v1Cgroup = new ContainerCgroup(
    {
      version: 'v1',
      mounts: {
        cpu: mount('cpu'),
        cpuacct: mount('cpu'),
        memory: mount('memory'),
        pids: mount('pids'),
      },
    },
    'agora',
    'c1',
  );
  const v1Memory = v1Cgroup.oomKills();
  assert.equal(v1Memory.oomKills, 2);
  assert.equal(v1Memory.memoryPeakBytes(), 33_554_432);
  const v2Memory = new ContainerCgroup(
    { version: 'v2', mount: mount('unified') },
    'agora',
    'c1',
  ).oomKills();
  assert.equal(v2Memory.oomKills, 1);
  assert.equal(v2Memory.memoryPeakBytes(), 1024);
  const none = new ContainerCgroup({ version: 'v2', mount: mount('unified') }, 'agora', 'gone');
  assert.equal(none.oomKills().oomKills, 0, 'a cgroup that is not there reads as no kill');
});

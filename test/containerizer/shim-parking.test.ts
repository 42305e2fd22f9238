// Who makes a parked shim's cgroup (src/containerizer/shim-parking.ts). An agent
// SIGKILLed after making it and before the launcher forked the shim left an empty
// `parked-*` cgroup in every hierarchy that nothing removed until the agent started
// again (which may be never): the shim makes it itself, after its fork, so there is
// always a process to take it away (parkScript's abandon).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { CgroupsHierarchy } from '../../src/containerizer/cgroups.js';
import type { ParkListener, ShimLauncher } from '../../src/containerizer/launcher.js';
import type { ParkSpec } from '../../src/containerizer/shim.js';
import { parkScript } from '../../src/containerizer/shim.js';
import { ShimParking } from '../../src/containerizer/shim-parking.js';

test('shim parking asks for a shim before any of its cgroup directories exists', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'agora-parking-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const mount = (name: string) => join(base, name);
  const hierarchy: CgroupsHierarchy = {
    version: 'v1',
    mounts: {
      cpu: mount('cpu'),
      cpuacct: mount('cpuacct'),
      memory: mount('memory'),
      pids: mount('pids'),
    },
  };
  const asked: Omit<ParkSpec, 'tag' | 'mkdir'>[] = [];
  // A launcher that never forks: the agent died before its park reached one.
  const launcher = {
    park(spec: Omit<ParkSpec, 'tag' | 'mkdir'>, _listener: ParkListener) {
      asked.push(spec);
      return () => undefined;
    },
  } as unknown as ShimLauncher;
  const recorded: string[] = [];
  const parking = new ShimParking({
    hierarchy,
    root: 'agora',
    dir: join(base, 'parking'),
    launcher,
    quietMs: 0,
    record: (id) => recorded.push(id),
    forget: () => undefined,
  });
  t.after(() => parking.close());
  parking.parkSoon(0);
  const deadline = performance.now() + 5000;
  while (asked.length === 0 && performance.now() < deadline) await delay(5);
  const [spec] = asked;
  assert.ok(spec !== undefined, 'timed out waiting for the park to reach the launcher');
  assert.equal(recorded.length, 1, 'the parked cgroup is in the ledger before anything is made');
  const dirs = spec.cgroupProcsFiles.map((file) => dirname(file));
  assert.equal(dirs.length, 4);
  assert.deepEqual(
    dirs.filter((dir) => existsSync(dir)),
    [],
    'no cgroup directory exists without a shim to remove it',
  );
});

test('a parked shim makes its cgroup directories before it joins them', () => {
  const script = parkScript({
    tag: 1,
    cgroupProcsFiles: [
      '/cg/cpu/agora/parked-x/cgroup.procs',
      '/cg/pids/agora/parked-x/cgroup.procs',
    ],
    fifo: '/run/x.fifo',
    launchFile: '/run/x.launch',
    mkdir: '/bin/mkdir',
  });
  const made = script.indexOf("'/bin/mkdir' -p '/cg/cpu/agora/parked-x' '/cg/pids/agora/parked-x'");
  const joined = script.indexOf("> '/cg/cpu/agora/parked-x/cgroup.procs'");
  assert.ok(made >= 0, `the shim makes its cgroups:\n${script}`);
  assert.ok(joined > made, 'and joins them after');
});

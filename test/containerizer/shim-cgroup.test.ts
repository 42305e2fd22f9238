// Who makes a command task's cgroup when no parked shim is taken (mesos-containerizer.ts).
// The agent made it between recording it in the ledger and asking the launcher to fork the
// shim: an agent SIGKILLed in between left an empty cgroup in every hierarchy until a
// restarted agent swept its ledger (which may be never). The shim makes it, after its fork.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  ContainerCgroup,
  detectCgroups,
  ledgerIds,
  MesosContainerizer,
} from '../../src/containerizer/index.js';
import type { ShimLauncher } from '../../src/containerizer/launcher.js';
import { shimScript } from '../../src/containerizer/shim.js';
import { Resources } from '../../src/resources/index.js';

const detection = detectCgroups(readFileSync('/proc/self/mountinfo', 'utf8'));
const skip =
  detection.kind !== 'available' || detection.hierarchy.version !== 'v1'
    ? 'needs cgroups v1'
    : process.getuid?.() !== 0
      ? 'cgroups need root'
      : false;

test("a command task's cgroup is made by its shim, after the launcher is asked to fork it", {
  skip,
}, async (t) => {
  if (detection.kind !== 'available') return;
  const hierarchy = detection.hierarchy;
  const dir = mkdtempSync(join(tmpdir(), 'agora-shim-cgroup-'));
  const root = `agora-test-${process.pid}-shim-cgroup`;
  const ledgerDir = join(dir, 'ledger');
  const containerizer = new MesosContainerizer({
    isolation: { kind: 'cgroups', hierarchy, root, enableCfs: false, pidsMax: 1024 },
    ledgerDir,
    parkShims: false,
  });
  const containerId = `agora-test-${process.pid}-shim-cgroup`;
  const cgroup = new ContainerCgroup(hierarchy, root, containerId);
  t.after(async () => {
    await containerizer.close();
    await containerizer.cleanup(containerId).catch(() => undefined);
    cgroup.remove();
    const mounts = hierarchy.version === 'v1' ? Object.values(hierarchy.mounts) : [];
    for (const mount of new Set(mounts))
      try {
        rmdirSync(join(mount, root));
      } catch {
        // Gone already, or never made.
      }
    rmSync(dir, { recursive: true, force: true });
  });
  // What an agent SIGKILLed at this point would leave: seen as the launcher is asked.
  const launcher = (containerizer as unknown as { readonly launcher: ShimLauncher }).launcher;
  const launch = launcher.launch.bind(launcher);
  let leftAtFork: { readonly recorded: string[]; readonly made: string[] } | undefined;
  launcher.launch = (spec) => {
    leftAtFork = {
      recorded: ledgerIds(ledgerDir),
      made: cgroup.directories.filter((path) => existsSync(path)),
    };
    return launch(spec);
  };
  const sandbox = join(dir, 'sandbox');
  mkdirSync(sandbox);
  const container = await containerizer.launch({
    containerId,
    sandbox,
    runtimeDir: join(dir, 'runtime'),
    command: { value: 'exit 0' },
    environment: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    resources: Resources.parse('cpus:0.1;mem:64'),
  });
  assert.ok(leftAtFork !== undefined, 'the launcher was asked');
  assert.deepEqual(leftAtFork.recorded, [containerId], 'the ledger records the cgroup first');
  assert.deepEqual(leftAtFork.made, [], 'no cgroup directory exists before the fork');
  const ended = await container.terminated;
  assert.equal(ended.exitCode, 0, 'the task ran, in the cgroup its shim made');
});

test('a shim makes its cgroup directories before it writes the limits and joins', () => {
  const script = shimScript({
    runtimeDir: '/run/c',
    sandbox: '/sb',
    cgroupDirs: ['/cg/cpu/agora/c', '/cg/memory/agora/c'],
    cgroupLimits: [{ file: '/cg/memory/agora/c/memory.limit_in_bytes', value: '1' }],
    cgroupProcsFiles: ['/cg/cpu/agora/c/cgroup.procs', '/cg/memory/agora/c/cgroup.procs'],
    tag: 1,
    environment: {},
    command: ['true'],
    setsid: '/usr/bin/setsid',
    env: '/usr/bin/env',
    mkdir: '/bin/mkdir',
  });
  const made = script.indexOf("'/bin/mkdir' -p '/cg/cpu/agora/c' '/cg/memory/agora/c'");
  const limited = script.indexOf("> '/cg/memory/agora/c/memory.limit_in_bytes'");
  const joined = script.indexOf("> '/cg/cpu/agora/c/cgroup.procs'");
  assert.ok(made >= 0, `the shim makes its cgroups:\n${script}`);
  assert.ok(limited > made && joined > made, 'and limits and joins them after');
});

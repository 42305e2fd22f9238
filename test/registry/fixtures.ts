// Shared helpers for the registry tests: temp directories with teardown, a
// deterministic operation sequence and its expected state, crash images.
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { encodeOperation, encodeSnapshot } from '../../src/registry/codec.js';
import {
  applyOperation,
  EMPTY_REGISTRY_STATE,
  EmbeddedRegistry,
  type RegistryOperation,
  type RegistryState,
} from '../../src/registry/index.js';
import { encodeRecord } from '../../src/registry/log-format.js';
import { type AgentInfo, agentId, type FrameworkInfo, frameworkId } from '../../src/wire/index.js';

type Undo = () => unknown;

/** Undo steps for one test, run in reverse order of registration after it ends. */
export function teardown(t: TestContext): (undo: Undo) => void {
  const undos: Undo[] = [];
  t.after(async () => {
    for (const undo of undos.reverse()) await undo();
  });
  return (undo) => {
    undos.push(undo);
  };
}

/** A fresh temp directory (real path, so /proc/self/fd links compare), removed after the test. */
export function tempDir(defer: (undo: Undo) => void): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'agora-registry-')));
  defer(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A registry on `directory`, closed after the test; not yet recovered. */
export function embedded(
  defer: (undo: Undo) => void,
  directory: string,
  compactEveryOps?: number,
): EmbeddedRegistry {
  const registry = new EmbeddedRegistry({ directory, compactEveryOps });
  defer(() => registry.close());
  return registry;
}

export const agent = (id: string, hostname = `${id}.example`): AgentInfo => ({
  id: agentId(id),
  hostname,
  port: 5051,
  resources: [
    { name: 'cpus', type: 'SCALAR', scalar: { value: 4 } },
    { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 32000 }] } },
  ],
  attributes: [{ name: 'rack', type: 'TEXT', text: { value: 'r1' } }],
});

/** Operation i of a deterministic mix of every kind, re-admissions and removals included. */
export function operation(i: number): RegistryOperation {
  switch (i % 10) {
    case 5:
      return { kind: 'addFramework', framework: framework(`fw${i}`, i) };
    case 6:
      return { kind: 'admitAgent', agent: agent(`b${i}`) };
    case 7:
      return { kind: 'markAgentUnreachable', agentId: agentId(`b${i - 1}`), sinceSec: i };
    case 8:
      return { kind: 'removeFramework', frameworkId: frameworkId(`fw${i - 3}`) };
    case 9:
      return { kind: 'markAgentGone', agentId: agentId(`b${i - 3}`) };
  }
  switch (i % 5) {
    case 0:
      return { kind: 'admitAgent', agent: agent(`a${i}`) };
    case 1:
      return { kind: 'admitAgent', agent: agent(`a${i - 1}`, `moved-${i}.example`) };
    case 2:
      return { kind: 'updateWeights', weights: [{ role: `role${i % 3}`, weight: i + 0.5 }] };
    case 3:
      return i % 2 === 1
        ? { kind: 'removeAgent', agentId: agentId(`a${i - 3}`) }
        : {
            kind: 'updateQuotas',
            configs: [{ role: 'prod', guarantees: { cpus: i }, limits: { cpus: 2 * i } }],
          };
    default:
      return {
        kind: 'updateQuotas',
        configs: [{ role: 'prod', guarantees: {}, limits: {} }, dev(i)],
      };
  }
}

export const framework = (id: string, registeredTimeSec = 0) => ({
  info: {
    id: frameworkId(id),
    user: 'u',
    name: `name of ${id}`,
    failover_timeout: 60,
  } as FrameworkInfo,
  registeredTimeSec,
});

const dev = (i: number) => ({ role: 'dev', guarantees: { mem: 128 * i }, limits: {} });

export const operations = (count: number): RegistryOperation[] =>
  Array.from({ length: count }, (_, i) => operation(i));

export const fold = (ops: readonly RegistryOperation[], from = EMPTY_REGISTRY_STATE) =>
  ops.reduce<RegistryState>(applyOperation, from);

export async function applyAll(
  registry: EmbeddedRegistry,
  ops: readonly RegistryOperation[],
): Promise<RegistryState | undefined> {
  let last: RegistryState | undefined;
  for (const op of ops) last = await registry.apply(op);
  return last;
}

/**
 * Copies the registry directory while its registry is open, as a crash would leave
 * it (the process is gone, so its lock is stale and left out). Every acknowledged
 * operation has been fsynced, so the image must hold all of them.
 */
export function crashImage(defer: (undo: Undo) => void, directory: string): string {
  const image = tempDir(defer);
  cpSync(directory, image, { recursive: true, filter: (src) => !src.endsWith('/lock') });
  return image;
}

/** Writes registry files by hand, to stand for a crash at a chosen step. */
export function writeLog(path: string, ops: readonly RegistryOperation[]): Buffer {
  const bytes = Buffer.concat(
    ops.map((op) => encodeRecord(Buffer.from(encodeOperation(op), 'utf8'))),
  );
  writeFileSync(path, bytes);
  return bytes;
}

export function writeSnapshot(path: string, generation: number, state: RegistryState): void {
  writeFileSync(path, encodeSnapshot(generation, state));
}

/** Files under `directory` this process has open, read from /proc/self/fd (Linux). */
export function openFilesUnder(directory: string): string[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      return target === directory || target.startsWith(`${directory}/`) ? [target] : [];
    } catch {
      return []; // the fd of readdir itself is gone by now
    }
  });
}

/** Pending handles and requests, without the stdio pipes the test runner holds. */
export const activeResources = (): string[] =>
  process.getActiveResourcesInfo().filter((r) => r !== 'PipeWrap' && r !== 'TTYWrap');

/** A pid that no process has: a child that has exited and been reaped. */
export function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  if (child.pid === undefined) throw new Error('could not spawn a child to get a dead pid');
  return child.pid;
}

export const sortedFiles = (directory: string): string[] => readdirSync(directory).sort();

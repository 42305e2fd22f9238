// V8's sampling heap profiler around a step of a bench, and a print of its profile by the
// function that allocated: bench/reregister-core.ts (the core alone) and bench/reregister.ts
// (the whole master, its HTTP side included) weigh a re-registration storm with it.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

interface SampledNode {
  readonly callFrame: { readonly functionName: string; readonly url: string };
  readonly selfSize: number;
  readonly children: readonly SampledNode[];
}

/**
 * What is sampled: 'all', every object allocated (collected or not: what the step makes);
 * 'live', only those still alive when sampling stops (what the step leaves behind).
 */
export type SampledObjects = 'all' | 'live';

/** A sampling started; `stop` writes the profile to `file` and prints it per `unit`. */
export async function startHeapSampling(
  objects: SampledObjects,
): Promise<(file: string, unit: number, title: string) => Promise<void>> {
  const session = new Session();
  session.connect();
  const isAll = objects === 'all';
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 256,
    includeObjectsCollectedByMajorGC: isAll,
    includeObjectsCollectedByMinorGC: isAll,
  });
  return async (file, unit, title) => {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    session.disconnect();
    writeFileSync(file, JSON.stringify(profile));
    printAllocations(profile as { readonly head: SampledNode }, unit, title);
  };
}

/** Bytes per unit (an agent), by the function that allocated them (self), largest first. */
export function printAllocations(
  profile: { readonly head: SampledNode },
  unit: number,
  title: string,
): void {
  const bySite = new Map<string, number>();
  let total = 0;
  const visit = (node: SampledNode) => {
    const site = `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url.split('/').pop()}`;
    bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
    total += node.selfSize;
    for (const child of node.children) visit(child);
  };
  visit(profile.head);
  process.stderr.write(`${title} ${(total / unit).toFixed(0)} B/agent:\n`);
  for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 25))
    process.stderr.write(`  ${(bytes / unit).toFixed(0).padStart(7)} ${site}\n`);
}

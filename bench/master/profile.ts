// The master's CPU profile (node --cpu-prof): its top self time, whole or in a span.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  /** Microseconds of the monotonic clock, as process.hrtime reads it. */
  readonly startTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** A span of the monotonic clock in µs (process.hrtime's and V8's profiler's). */
export interface MonotonicSpan {
  readonly fromUs: number;
  readonly toUs: number;
}

export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export interface SelfTime {
  readonly name: string;
  readonly ms: number;
  readonly percent: number;
}

/**
 * The functions with the most self time in a V8 CPU profile, idle left out of the total;
 * with `span`, only the samples taken inside it.
 */
function topSelfTime(profile: CpuProfile, count: number, span?: MonotonicSpan): SelfTime[] {
  const byNode = new Map<number, ProfileNode>(profile.nodes.map((node) => [node.id, node]));
  const byName = new Map<string, number>();
  let totalUs = 0;
  let atUs = profile.startTime;
  profile.samples.forEach((id, i) => {
    const node = byNode.get(id);
    const deltaUs = profile.timeDeltas[i] ?? 0;
    atUs += deltaUs;
    if (span !== undefined && (atUs < span.fromUs || atUs > span.toUs)) return;
    if (node === undefined || node.callFrame.functionName === '(idle)') return;
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.replace(/^.*\/(node_modules\/)?/, '$1');
    const name = `${functionName || '(anonymous)'}${file === '' ? '' : ` ${file}:${lineNumber + 1}`}`;
    byName.set(name, (byName.get(name) ?? 0) + deltaUs);
    totalUs += deltaUs;
  });
  return [...byName.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, us]) => ({
      name,
      ms: us / 1000,
      percent: totalUs > 0 ? (us / totalUs) * 100 : 0,
    }));
}

/** Per row's profile, its top self time; for rows in `spans`, also inside that span. */
export function profileSummaries(
  dir: string | undefined,
  spans: Readonly<Record<string, { readonly what: string; readonly span: MonotonicSpan }>>,
): Record<string, SelfTime[]> {
  if (dir === undefined) return {};
  const summaries: Record<string, SelfTime[]> = {};
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  } catch {
    return {};
  }
  for (const file of files) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    const row = file.replace(/\.cpuprofile$/, '');
    summaries[row] = topSelfTime(profile, 15);
    const during = spans[row];
    if (during !== undefined)
      summaries[`${row}, ${during.what} only`] = topSelfTime(profile, 15, during.span);
  }
  return summaries;
}

// Prometheus text exposition (version 0.0.4) of the master's metrics at GET
// /metrics: the numbers of /metrics/snapshot under Prometheus-style names,
// with the parts Mesos puts in the path (framework, role, state) as labels,
// and histograms for allocation time and offer-to-accept time.
import { type Histogram, LATENCY_BUCKETS_MS } from '../core/metrics.js';

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Mesos' path-shaped names, each turned into a family name and labels. */
const PATTERNS: readonly [RegExp, (m: RegExpExecArray) => Omit<Sample, 'value'>][] = [
  [
    // Before the general framework pattern: a role holds any character a name may not.
    /^master\/frameworks\/([^/]+)\/([^/]+)\/roles\/(.+)\/suppressed$/,
    (m) => ({
      name: 'master_framework_role_suppressed',
      labels: { framework_name: decode(m[1]), framework_id: m[2] ?? '', role: m[3] ?? '' },
    }),
  ],
  [
    /^master\/frameworks\/([^/]+)\/([^/]+)\/(.+)$/,
    (m) => ({
      name: `master_framework_${m[3] ?? ''}`,
      labels: { framework_name: decode(m[1]), framework_id: m[2] ?? '' },
    }),
  ],
  [
    /^master\/task_([a-z_]+)\/source_([a-z_]+)\/reason_([a-z_]+)$/,
    (m) => ({
      name: 'master_task_status_updates',
      labels: { state: m[1] ?? '', source: m[2] ?? '', reason: m[3] ?? '' },
    }),
  ],
  [
    /^allocator\/mesos\/roles\/(.+)\/shares\/dominant$/,
    (m) => ({ name: 'allocator_role_dominant_share', labels: { role: m[1] ?? '' } }),
  ],
  [
    /^allocator\/mesos\/quota\/roles\/(.+)\/resources\/([^/]+)\/(guarantee|limit)$/,
    (m) => ({
      name: `allocator_quota_${m[3] ?? ''}`,
      labels: { role: m[1] ?? '', resource: m[2] ?? '' },
    }),
  ],
];

function decode(part: string | undefined): string {
  try {
    return decodeURIComponent(part ?? '');
  } catch {
    return part ?? '';
  }
}

function metricName(raw: string): string {
  return `mesos_${raw.replace(/[^a-zA-Z0-9_]/g, '_')}`;
}

function labelText(labels: Readonly<Record<string, string>>): string {
  const parts = Object.entries(labels).map(
    ([key, value]) =>
      `${key}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
  );
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function sampleOf(key: string, value: number): Sample | undefined {
  // Timer percentiles are summaries of a window; the histograms below say it better.
  if (key.startsWith('allocator/mesos/allocation_run_ms')) return undefined;
  for (const [pattern, make] of PATTERNS) {
    const match = pattern.exec(key);
    if (match !== null) return { ...make(match), value };
  }
  return { name: key, labels: {}, value };
}

function histogramLines(name: string, help: string, histogram: Histogram): string[] {
  const family = metricName(name);
  const lines = [`# HELP ${family} ${help}`, `# TYPE ${family} histogram`];
  LATENCY_BUCKETS_MS.forEach((bound, i) => {
    lines.push(`${family}_bucket{le="${bound / 1000}"} ${histogram.counts[i] ?? 0}`);
  });
  lines.push(`${family}_bucket{le="+Inf"} ${histogram.count}`);
  lines.push(`${family}_sum ${histogram.sum / 1000}`);
  lines.push(`${family}_count ${histogram.count}`);
  return lines;
}

/** The exposition text for `snapshot` (as /metrics/snapshot has it) and the histograms. */
export function prometheusText(
  snapshot: Readonly<Record<string, number>>,
  histograms: { readonly allocationRun: Histogram; readonly offerAccept: Histogram },
): string {
  const families = new Map<string, Sample[]>();
  for (const [key, value] of Object.entries(snapshot)) {
    if (!Number.isFinite(value)) continue;
    const sample = sampleOf(key, value);
    if (sample === undefined) continue;
    const name = metricName(sample.name);
    const list = families.get(name) ?? [];
    list.push(sample);
    families.set(name, list);
  }
  const lines: string[] = [];
  for (const name of [...families.keys()].sort()) {
    lines.push(`# TYPE ${name} untyped`);
    for (const sample of families.get(name) ?? [])
      lines.push(`${name}${labelText(sample.labels)} ${sample.value}`);
  }
  lines.push(
    ...histogramLines(
      'allocator_allocation_run_seconds',
      'Time an allocation cycle took.',
      histograms.allocationRun,
    ),
    ...histogramLines(
      'master_offer_accept_seconds',
      'Time from an offer being made to its ACCEPT.',
      histograms.offerAccept,
    ),
  );
  return `${lines.join('\n')}\n`;
}

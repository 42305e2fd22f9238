// A stacked area chart of one resource: used, offered and idle (total - used -
// offered) over the last hour. Plain SVG, no library. Each sample holds until
// the next (a step chart: nothing is interpolated), and the time axis spans
// the samples kept, from one minute up to the hour, so a fresh page already
// shows something.
import { amount } from './format.js';
import type { Sample } from './store.js';
import { HISTORY_MS } from './store.js';

const WIDTH = 300;
const HEIGHT = 90;
const MIN_SPAN_MS = 60_000;

interface Point {
  readonly atMs: number;
  readonly total: number;
  readonly used: number;
  readonly offered: number;
}

/** The SVG path of the band between lower(p) and upper(p), as steps. */
function band(
  points: readonly Point[],
  x: (atMs: number) => number,
  y: (value: number) => number,
  nowMs: number,
  lower: (p: Point) => number,
  upper: (p: Point) => number,
): string {
  if (points.length === 0) return '';
  const edge = (value: (p: Point) => number) =>
    points.flatMap((p, i) => {
      const until = points[i + 1]?.atMs ?? nowMs;
      return [
        `${x(p.atMs).toFixed(1)},${y(value(p)).toFixed(1)}`,
        `${x(until).toFixed(1)},${y(value(p)).toFixed(1)}`,
      ];
    });
  return `M${edge(upper).join('L')}L${edge(lower).reverse().join('L')}Z`;
}

export function ResourceChart(props: { name: string; samples: readonly Sample[]; nowMs: number }) {
  const { name, samples, nowMs } = props;
  const points: Point[] = samples.map((s) => ({
    atMs: s.atMs,
    ...(s.byName[name] ?? { total: 0, used: 0, offered: 0 }),
  }));
  const latest = points[points.length - 1];
  const spanMs = Math.min(HISTORY_MS, Math.max(MIN_SPAN_MS, nowMs - (points[0]?.atMs ?? nowMs)));
  const top = Math.max(1e-9, ...points.map((p) => p.total));
  const x = (atMs: number) => ((atMs - (nowMs - spanMs)) / spanMs) * WIDTH;
  const y = (value: number) => HEIGHT - (value / top) * HEIGHT;
  const area = (lower: (p: Point) => number, upper: (p: Point) => number) =>
    band(points, x, y, nowMs, lower, upper);
  const idle = latest ? Math.max(0, latest.total - latest.used - latest.offered) : 0;
  const label = latest
    ? `${name}: ${amount(name, latest.used)} used, ${amount(name, latest.offered)} offered, ${amount(name, idle)} idle of ${amount(name, latest.total)}`
    : `${name}: no samples yet`;
  return (
    <figure class="chart" data-resource={name} data-samples={points.length}>
      <figcaption>
        <strong>{name}</strong>
        <span class="legend">
          <span class="used">{latest ? amount(name, latest.used) : '–'} used</span>
          <span class="offered">{latest ? amount(name, latest.offered) : '–'} offered</span>
          <span class="idle">{latest ? amount(name, idle) : '–'} idle</span>
          <span>of {latest ? amount(name, latest.total) : '–'}</span>
        </span>
      </figcaption>
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={label}
      >
        <rect width={WIDTH} height={HEIGHT} class="bg" />
        <path
          class="idle"
          d={area(
            (p) => p.used + p.offered,
            (p) => p.total,
          )}
        />
        <path
          class="offered"
          d={area(
            (p) => p.used,
            (p) => p.used + p.offered,
          )}
        />
        <path
          class="used"
          d={area(
            () => 0,
            (p) => p.used,
          )}
        />
      </svg>
      <div class="axis">
        <span>−{Math.round(spanMs / 60_000)} min</span>
        <span>now</span>
      </div>
    </figure>
  );
}

// A stacked area chart of one resource over the last hour: used, offered and
// idle (total - used - offered). Plain SVG, no library, scaled to its box.
import { amount } from './format.js';
import type { Sample } from './store.js';
import { HISTORY_MS } from './store.js';

const WIDTH = 300;
const HEIGHT = 90;

export function ResourceChart(props: { name: string; samples: readonly Sample[]; nowMs: number }) {
  const { name, samples, nowMs } = props;
  const points = samples.map((s) => ({
    atMs: s.atMs,
    ...(s.byName[name] ?? { total: 0, used: 0, offered: 0 }),
  }));
  const latest = points[points.length - 1];
  const top = Math.max(1e-9, ...points.map((p) => p.total));
  const x = (atMs: number) => ((atMs - (nowMs - HISTORY_MS)) / HISTORY_MS) * WIDTH;
  const y = (value: number) => HEIGHT - (value / top) * HEIGHT;
  const area = (
    lower: (p: (typeof points)[number]) => number,
    upper: (p: (typeof points)[number]) => number,
  ) => {
    if (points.length === 0) return '';
    const up = points.map((p) => `${x(p.atMs).toFixed(1)},${y(upper(p)).toFixed(1)}`);
    const down = [...points]
      .reverse()
      .map((p) => `${x(p.atMs).toFixed(1)},${y(lower(p)).toFixed(1)}`);
    return `M${up.join('L')}L${down.join('L')}Z`;
  };
  const idle = latest ? Math.max(0, latest.total - latest.used - latest.offered) : 0;
  const label = latest
    ? `${name}: ${amount(name, latest.used)} used, ${amount(name, latest.offered)} offered, ${amount(name, idle)} idle of ${amount(name, latest.total)}`
    : `${name}: no samples yet`;
  return (
    <figure class="chart" data-resource={name}>
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
        <span>−60 min</span>
        <span>now</span>
      </div>
    </figure>
  );
}

import { getJson } from '../api.js';
import { amount } from '../format.js';
import { usePoll } from '../store.js';

interface RoleEntry {
  readonly name: string;
  readonly weight: number;
  readonly quota: {
    readonly guarantee: Record<string, number>;
    readonly limit: Record<string, number>;
    readonly consumed: Record<string, number>;
  };
  readonly allocated: Record<string, number>;
  readonly offered: Record<string, number>;
  readonly frameworks: readonly { value: string }[];
}

/** One resource of one role: consumed against its guarantee and limit, as a bar. */
function QuotaBar(props: {
  name: string;
  consumed: number;
  clusterTotal: number;
  guarantee?: number;
  limit?: number;
}) {
  const { name, consumed, guarantee, limit } = props;
  // The bar is the cluster's whole amount (or the quota, when that is larger).
  const scale = Math.max(props.clusterTotal, consumed, guarantee ?? 0, limit ?? 0, 1e-9);
  const pct = (v: number) => `${((v / scale) * 100).toFixed(1)}%`;
  const over = limit !== undefined && consumed > limit;
  return (
    <div class="quota">
      <span class="quota-name">{name}</span>
      <div
        class="bar"
        role="img"
        aria-label={`${name}: ${amount(name, consumed)} consumed, guarantee ${guarantee === undefined ? 'none' : amount(name, guarantee)}, limit ${limit === undefined ? 'none' : amount(name, limit)}`}
      >
        <div class={over ? 'fill over' : 'fill'} style={{ width: pct(consumed) }} />
        {guarantee !== undefined ? (
          <div class="mark guarantee" style={{ left: pct(guarantee) }} />
        ) : null}
        {limit !== undefined ? <div class="mark limit" style={{ left: pct(limit) }} /> : null}
      </div>
      <span class="quota-text">
        {amount(name, consumed)}
        {guarantee !== undefined ? ` · guarantee ${amount(name, guarantee)}` : ''}
        {limit !== undefined ? ` · limit ${amount(name, limit)}` : ''}
      </span>
    </div>
  );
}

export function RolesPage() {
  const roles = usePoll((signal) => getJson<{ roles: RoleEntry[] }>('/master/roles', signal), 3000);
  const metrics = usePoll(
    (signal) => getJson<Record<string, number>>('/metrics/snapshot', signal),
    10_000,
  );
  const list = roles.value?.roles ?? [];
  return (
    <section aria-labelledby="roles-title">
      <h1 id="roles-title">Roles</h1>
      {roles.error ? <p class="error">{roles.error}</p> : null}
      <p class="muted">
        Each bar is the cluster's total; the fill is what the role consumes (allocated and
        reserved), the marks its quota's <span class="key guarantee">guarantee</span> and{' '}
        <span class="key limit">limit</span>.
      </p>
      {list.map((role) => {
        const names = [
          ...new Set([
            ...Object.keys(role.quota.consumed),
            ...Object.keys(role.quota.guarantee),
            ...Object.keys(role.quota.limit),
            ...Object.keys(role.allocated),
          ]),
        ]
          .filter((n) => ['cpus', 'mem', 'disk', 'gpus'].includes(n))
          .sort();
        return (
          <article class="role" key={role.name} data-role={role.name}>
            <h2>
              {role.name} <span class="muted">weight {role.weight}</span>{' '}
              <span class="muted">· {role.frameworks.length} framework(s)</span>
            </h2>
            {names.length === 0 ? <p>Nothing consumed and no quota.</p> : null}
            {names.map((name) => (
              <QuotaBar
                key={name}
                name={name}
                consumed={role.quota.consumed[name] ?? role.allocated[name] ?? 0}
                clusterTotal={metrics.value?.[`master/${name}_total`] ?? 0}
                {...(role.quota.guarantee[name] !== undefined
                  ? { guarantee: role.quota.guarantee[name] }
                  : {})}
                {...(role.quota.limit[name] !== undefined ? { limit: role.quota.limit[name] } : {})}
              />
            ))}
          </article>
        );
      })}
      {roles.value !== undefined && list.length === 0 ? <p>No roles in use.</p> : null}
    </section>
  );
}

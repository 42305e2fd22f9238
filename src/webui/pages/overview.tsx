import { getJson, postJson } from '../api.js';
import { ResourceChart } from '../chart.js';
import { stateClass, stateLabel, time } from '../format.js';
import { usePoll, useStore } from '../store.js';

interface GetMaster {
  readonly get_master?: {
    readonly master_info?: {
      readonly id?: string;
      readonly hostname?: string;
      readonly address?: { readonly ip?: string; readonly port?: number };
      readonly version?: string;
    };
    readonly start_time?: number;
    readonly elected_time?: number;
  };
}

export function OverviewPage() {
  const { cluster, samples } = useStore();
  const master = usePoll(
    async () => (await postJson<GetMaster>('/api/v1', { type: 'GET_MASTER' }))?.get_master,
    30_000,
  );
  const version = usePoll(
    () => getJson<{ version?: string; agora_version?: string }>('/version'),
    60_000,
  );
  const byState = new Map<string, number>();
  for (const task of cluster.tasks.values())
    byState.set(task.state, (byState.get(task.state) ?? 0) + 1);
  const agents = [...cluster.agents.values()];
  const frameworks = [...cluster.frameworks.values()];
  const info = master.value?.master_info;
  // The charts end at the latest sample: each re-render comes with one, or with an event.
  const nowMs = Math.max(Date.now(), samples[samples.length - 1]?.atMs ?? 0);
  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      <div class="cards">
        <div class="card" data-testid="agents-count">
          <h2>Agents</h2>
          <p class="big">{agents.length}</p>
          <p>
            {agents.filter((a) => a.active && a.deactivated !== true).length} active,{' '}
            {agents.filter((a) => a.deactivated === true).length} deactivated,{' '}
            {agents.filter((a) => a.drain_info !== undefined).length} draining
          </p>
        </div>
        <div class="card" data-testid="frameworks-count">
          <h2>Frameworks</h2>
          <p class="big">{frameworks.length}</p>
          <p>
            {frameworks.filter((f) => f.connected).length} connected,{' '}
            {cluster.completedFrameworks.size} completed
          </p>
        </div>
        <div class="card" data-testid="tasks-count">
          <h2>Tasks</h2>
          <p class="big">{cluster.tasks.size}</p>
          <ul class="states">
            {[...byState].sort().map(([state, count]) => (
              <li key={state}>
                <span class={stateClass(state)}>{stateLabel(state)}</span> {count}
              </li>
            ))}
          </ul>
        </div>
        <div class="card" data-testid="leader">
          <h2>Leading master</h2>
          {info ? (
            <>
              <p class="mono">
                {info.hostname}:{info.address?.port}
              </p>
              <p>
                up since {time(master.value?.start_time)} · Agora{' '}
                {version.value?.agora_version ?? ''}
              </p>
              <p class="muted">Standby masters: not reported by this master</p>
            </>
          ) : (
            <p>{master.error ?? 'loading…'}</p>
          )}
        </div>
      </div>
      <h2>Resources, last hour</h2>
      <div class="charts">
        {['cpus', 'mem', 'disk', 'gpus'].map((name) => (
          <ResourceChart key={name} name={name} samples={samples} nowMs={nowMs} />
        ))}
      </div>
    </section>
  );
}

import { useRef, useState } from 'preact/hooks';
import { agentPath, getJson } from '../api.js';
import { amount, rawBytes, stateClass, stateLabel } from '../format.js';
import { type Agent, type Attribute, isTerminal, scalars } from '../model.js';
import { href, type Route, replaceQuery } from '../router.js';
import { usePoll, useStore } from '../store.js';
import { scalar, useAgentUsage } from '../usage.js';

const SHOWN = ['cpus', 'mem', 'disk', 'gpus'];

export function attributeText(a: Attribute): string {
  if (a.text !== undefined) return a.text.value;
  if (a.scalar !== undefined) return String(a.scalar.value);
  if (a.ranges?.range !== undefined)
    return a.ranges.range.map((r) => `${r.begin}-${r.end}`).join(',');
  if (a.set?.item !== undefined) return `{${a.set.item.join(',')}}`;
  return '';
}

function agentState(agent: Agent): string {
  if (agent.drain_info !== undefined) return agent.drain_info.state.toLowerCase();
  if (agent.deactivated === true) return 'deactivated';
  return agent.active ? 'active' : 'inactive';
}

function matches(agent: Agent, filter: string): boolean {
  if (filter === '') return true;
  const f = filter.toLowerCase();
  const info = agent.agent_info;
  return [
    info.hostname,
    info.id?.value ?? '',
    agentState(agent),
    ...(info.attributes ?? []).map((a) => `${a.name}:${attributeText(a)}`),
  ].some((text) => text.toLowerCase().includes(f));
}

export function AgentsPage(props: { route: Route }) {
  const { cluster } = useStore();
  const usage = useAgentUsage();
  const [filter, setFilter] = useState(props.route.query.get('q') ?? '');
  const runningByAgent = new Map<string, number>();
  for (const task of cluster.tasks.values())
    if (!isTerminal(task.state))
      runningByAgent.set(task.agent_id.value, (runningByAgent.get(task.agent_id.value) ?? 0) + 1);
  const agents = [...cluster.agents.values()]
    .filter((a) => matches(a, filter))
    .sort((a, b) => a.agent_info.hostname.localeCompare(b.agent_info.hostname));
  return (
    <section aria-labelledby="agents-title">
      <h1 id="agents-title">Agents</h1>
      <label class="filter">
        Filter{' '}
        <input
          type="search"
          value={filter}
          placeholder="hostname, id, state, attribute"
          onInput={(e) => {
            const value = e.currentTarget.value;
            setFilter(value);
            replaceQuery(props.route, { q: value });
          }}
        />
      </label>
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">Agent</th>
              <th scope="col">State</th>
              {SHOWN.map((name) => (
                <th scope="col" key={name}>
                  {name} (used / total)
                </th>
              ))}
              <th scope="col">Tasks</th>
            </tr>
          </thead>
          <tbody>
            {agents.map((agent) => {
              const id = agent.agent_info.id?.value ?? '';
              const total = scalars(agent.total_resources ?? agent.agent_info.resources);
              const used = usage.get(id)?.used;
              return (
                <tr key={id} data-agent-id={id}>
                  <td>
                    <a href={href(['agents', id])}>{agent.agent_info.hostname}</a>
                    <div class="mono small">{id}</div>
                  </td>
                  <td>{agentState(agent)}</td>
                  {SHOWN.map((name) => (
                    <td key={name}>
                      {used === undefined ? '…' : amount(name, scalar(used, name))} /{' '}
                      {amount(name, total[name] ?? 0)}
                    </td>
                  ))}
                  <td>{runningByAgent.get(id) ?? 0}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {agents.length === 0 ? <p>No agents{filter === '' ? '' : ' match'}.</p> : null}
    </section>
  );
}

interface StatisticsEntry {
  readonly framework_id: string;
  readonly executor_id: string;
  readonly executor_name?: string;
  readonly statistics: {
    readonly timestamp: number;
    readonly cpus_user_time_secs?: number;
    readonly cpus_system_time_secs?: number;
    readonly cpus_limit?: number;
    readonly mem_rss_bytes?: number;
    readonly mem_limit_bytes?: number;
  };
}

interface MaintenanceStatus {
  readonly draining_machines?: readonly { readonly id: { hostname?: string; ip?: string } }[];
  readonly down_machines?: readonly { hostname?: string; ip?: string }[];
}

/** CPU use between two polls: CPU seconds spent over seconds passed. */
function cpuRate(now: StatisticsEntry, before: StatisticsEntry | undefined): number | undefined {
  if (before === undefined) return undefined;
  const spent = (s: StatisticsEntry['statistics']) =>
    (s.cpus_user_time_secs ?? 0) + (s.cpus_system_time_secs ?? 0);
  const seconds = now.statistics.timestamp - before.statistics.timestamp;
  return seconds > 0 ? (spent(now.statistics) - spent(before.statistics)) / seconds : undefined;
}

export function AgentPage(props: { agentId: string }) {
  const { cluster } = useStore();
  const agent = cluster.agents.get(props.agentId);
  const usage = useAgentUsage().get(props.agentId);
  const statistics = usePoll(
    async (signal) => {
      const entries = await getJson<StatisticsEntry[]>(
        agentPath(props.agentId, 'monitor/statistics'),
        signal,
      );
      return entries;
    },
    2000,
    [props.agentId],
  );
  const maintenance = usePoll(
    () => getJson<MaintenanceStatus>('/master/maintenance/status'),
    10_000,
  );
  const current = statistics.value ?? [];
  // The previous poll's entries, for CPU rates: replaced when a new poll arrives.
  const polls = useRef<{ last?: StatisticsEntry[]; before: Map<string, StatisticsEntry> }>({
    before: new Map(),
  });
  if (statistics.value !== polls.current.last) {
    polls.current.before = new Map(
      (polls.current.last ?? []).map((e) => [`${e.framework_id}/${e.executor_id}`, e]),
    );
    polls.current.last = statistics.value;
  }
  const previous = polls.current.before;
  if (agent === undefined)
    return (
      <section>
        <h1>Agent</h1>
        <p>
          No agent <span class="mono">{props.agentId}</span> is known.{' '}
          <a href={href(['agents'])}>All agents</a>
        </p>
      </section>
    );
  const info = agent.agent_info;
  const total = scalars(agent.total_resources ?? info.resources);
  const tasks = [...cluster.tasks.values()].filter(
    (t) => t.agent_id.value === props.agentId && !isTerminal(t.state),
  );
  const isHost = (m: { hostname?: string; ip?: string }) => m.hostname === info.hostname;
  const maintenanceState = maintenance.value?.down_machines?.some(isHost)
    ? 'down for maintenance'
    : maintenance.value?.draining_machines?.some((m) => isHost(m.id))
      ? 'draining for scheduled maintenance'
      : 'none scheduled';
  return (
    <section aria-labelledby="agent-title">
      <p>
        <a href={href(['agents'])}>← Agents</a>
      </p>
      <h1 id="agent-title">{info.hostname}</h1>
      <dl class="facts">
        <dt>Id</dt>
        <dd class="mono">{props.agentId}</dd>
        <dt>Address</dt>
        <dd class="mono">{agent.pid ?? `${info.hostname}:${info.port ?? ''}`}</dd>
        <dt>State</dt>
        <dd>{agentState(agent)}</dd>
        <dt>Drain</dt>
        <dd>{agent.drain_info?.state ?? 'not draining'}</dd>
        <dt>Maintenance</dt>
        <dd>{maintenanceState}</dd>
        <dt>Version</dt>
        <dd>{agent.version ?? ''}</dd>
      </dl>
      <h2>Resources</h2>
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">Resource</th>
              <th scope="col">Total</th>
              <th scope="col">Used</th>
              <th scope="col">Offered</th>
            </tr>
          </thead>
          <tbody>
            {Object.keys(total)
              .sort()
              .map((name) => (
                <tr key={name}>
                  <th scope="row">{name}</th>
                  <td>{amount(name, total[name] ?? 0)}</td>
                  <td>{usage ? amount(name, scalar(usage.used, name)) : '…'}</td>
                  <td>{usage ? amount(name, scalar(usage.offered, name)) : '…'}</td>
                </tr>
              ))}
          </tbody>
        </table>
      </div>
      <h2>Attributes</h2>
      {(info.attributes ?? []).length === 0 ? (
        <p>None.</p>
      ) : (
        <dl class="facts">
          {(info.attributes ?? []).map((a) => (
            <>
              <dt key={`${a.name}-n`}>{a.name}</dt>
              <dd key={`${a.name}-v`}>{attributeText(a)}</dd>
            </>
          ))}
        </dl>
      )}
      <h2>Running tasks</h2>
      {tasks.length === 0 ? (
        <p>None.</p>
      ) : (
        <ul>
          {tasks.map((t) => (
            <li key={t.task_id.value}>
              <a href={href(['tasks'], { q: t.task_id.value })}>{t.name}</a>{' '}
              <span class={stateClass(t.state)}>{stateLabel(t.state)}</span>
            </li>
          ))}
        </ul>
      )}
      <h2>Live usage</h2>
      {statistics.error ? <p class="error">{statistics.error}</p> : null}
      <div class="scroll">
        <table data-testid="usage">
          <thead>
            <tr>
              <th scope="col">Executor</th>
              <th scope="col">CPU (used / limit)</th>
              <th scope="col">Memory (RSS / limit)</th>
            </tr>
          </thead>
          <tbody>
            {current.map((e) => {
              const rate = cpuRate(e, previous.get(`${e.framework_id}/${e.executor_id}`));
              return (
                <tr key={`${e.framework_id}/${e.executor_id}`}>
                  <td class="mono">{e.executor_name || e.executor_id}</td>
                  <td>
                    {rate === undefined ? '…' : rate.toFixed(2)} / {e.statistics.cpus_limit ?? '–'}
                  </td>
                  <td>
                    {rawBytes(e.statistics.mem_rss_bytes ?? 0)} /{' '}
                    {e.statistics.mem_limit_bytes ? rawBytes(e.statistics.mem_limit_bytes) : '–'}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {statistics.value !== undefined && current.length === 0 ? (
        <p>No containers running.</p>
      ) : null}
    </section>
  );
}

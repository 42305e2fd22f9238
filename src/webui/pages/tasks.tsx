import { useState } from 'preact/hooks';
import { agentPath, postJson } from '../api.js';
import { amount, stateClass, stateLabel } from '../format.js';
import { containerIdOf, isTerminal, scalars, type Task } from '../model.js';
import { href, type Route, replaceQuery } from '../router.js';
import { useStore } from '../store.js';

/** Rows drawn at most: the newest changes first; the search narrows the rest. */
const MAX_ROWS = 500;
/** How long a "Kill" click waits for its confirming second click. */
const CONFIRM_MS = 5000;

export function sandboxHref(task: Task): string {
  return href([
    'sandbox',
    task.agent_id.value,
    task.framework_id.value,
    task.executor_id?.value ?? task.task_id.value,
  ]);
}

function KillButton(props: { task: Task }) {
  const { task } = props;
  const [phase, setPhase] = useState<'idle' | 'confirm' | 'sent' | string>('idle');
  const containerId = containerIdOf(task);
  if (containerId === undefined || isTerminal(task.state)) return null;
  const kill = async () => {
    setPhase('sent');
    try {
      // Mesos has no operator KILL_TASK: the agent's KILL_CONTAINER ends the task's
      // container, and the agent reports the task's end as for any other exit.
      await postJson(agentPath(task.agent_id.value, 'api/v1'), {
        type: 'KILL_CONTAINER',
        kill_container: { container_id: { value: containerId } },
      });
    } catch (error) {
      setPhase(error instanceof Error ? error.message : String(error));
    }
  };
  if (phase === 'sent') return <span class="muted">killing…</span>;
  if (phase !== 'idle' && phase !== 'confirm') return <span class="error">{phase}</span>;
  return (
    <button
      type="button"
      class={phase === 'confirm' ? 'danger' : ''}
      aria-label={
        phase === 'confirm' ? `Confirm: kill ${task.task_id.value}` : `Kill ${task.task_id.value}`
      }
      onClick={() => {
        if (phase === 'confirm') void kill();
        else {
          setPhase('confirm');
          setTimeout(() => setPhase((p) => (p === 'confirm' ? 'idle' : p)), CONFIRM_MS);
        }
      }}
    >
      {phase === 'confirm' ? 'Confirm kill' : 'Kill'}
    </button>
  );
}

export function TasksPage(props: { route: Route }) {
  const { cluster } = useStore();
  const [query, setQuery] = useState(props.route.query.get('q') ?? '');
  const [state, setState] = useState(props.route.query.get('state') ?? '');
  const hostnames = new Map(
    [...cluster.agents].map(([id, a]) => [id, a.agent_info.hostname] as const),
  );
  const frameworkNames = new Map(
    [...cluster.frameworks].map(([id, f]) => [id, f.framework_info.name] as const),
  );
  const states = [...new Set([...cluster.tasks.values()].map((t) => t.state))].sort();
  const q = query.trim().toLowerCase();
  const matching = [...cluster.tasks.values()]
    .reverse()
    .filter(
      (task) =>
        (state === '' || task.state === state) &&
        (q === '' ||
          [
            task.task_id.value,
            task.name,
            task.state,
            task.agent_id.value,
            hostnames.get(task.agent_id.value) ?? '',
            task.framework_id.value,
            frameworkNames.get(task.framework_id.value) ?? '',
          ].some((text) => text.toLowerCase().includes(q))),
    );
  const update = (next: { q?: string; state?: string }) =>
    replaceQuery(props.route, { q: next.q ?? query, state: next.state ?? state });
  return (
    <section aria-labelledby="tasks-title">
      <h1 id="tasks-title">Tasks</h1>
      <div class="filters">
        <label class="filter">
          Search{' '}
          <input
            type="search"
            value={query}
            placeholder="id, name, state, agent, framework"
            onInput={(e) => {
              setQuery(e.currentTarget.value);
              update({ q: e.currentTarget.value });
            }}
          />
        </label>
        <label class="filter">
          State{' '}
          <select
            value={state}
            onChange={(e) => {
              setState(e.currentTarget.value);
              update({ state: e.currentTarget.value });
            }}
          >
            <option value="">any</option>
            {states.map((s) => (
              <option key={s} value={s}>
                {stateLabel(s)}
              </option>
            ))}
          </select>
        </label>
        <span class="muted" role="status">
          {matching.length} of {cluster.tasks.size} tasks
        </span>
      </div>
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">Task</th>
              <th scope="col">State</th>
              <th scope="col">Framework</th>
              <th scope="col">Agent</th>
              <th scope="col">cpus / mem</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {matching.slice(0, MAX_ROWS).map((task) => {
              const resources = scalars(task.resources);
              const last = task.statuses?.[task.statuses.length - 1];
              return (
                <tr
                  key={`${task.framework_id.value}/${task.task_id.value}`}
                  data-task-id={task.task_id.value}
                >
                  <td>
                    {task.name}
                    <div class="mono small">{task.task_id.value}</div>
                  </td>
                  <td>
                    <span class={stateClass(task.state)} data-state={task.state}>
                      {stateLabel(task.state)}
                    </span>
                    {last?.message ? <div class="small muted">{last.message}</div> : null}
                  </td>
                  <td>{frameworkNames.get(task.framework_id.value) ?? task.framework_id.value}</td>
                  <td>
                    <a href={href(['agents', task.agent_id.value])}>
                      {hostnames.get(task.agent_id.value) ?? task.agent_id.value}
                    </a>
                  </td>
                  <td>
                    {amount('cpus', resources.cpus ?? 0)} / {amount('mem', resources.mem ?? 0)}
                  </td>
                  <td class="actions">
                    <a href={sandboxHref(task)}>Sandbox</a> <KillButton task={task} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {matching.length > MAX_ROWS ? (
        <p>Showing the {MAX_ROWS} most recently changed; narrow the search.</p>
      ) : null}
      {matching.length === 0 ? <p>No tasks{q === '' && state === '' ? '' : ' match'}.</p> : null}
    </section>
  );
}

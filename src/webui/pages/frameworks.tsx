import { amount } from '../format.js';
import { type Framework, isTerminal, scalars } from '../model.js';
import { href } from '../router.js';
import { useStore } from '../store.js';
import { scalar, useFrameworkUsage } from '../usage.js';

const SHOWN = ['cpus', 'mem', 'disk', 'gpus'];

function rolesOf(framework: Framework): readonly string[] {
  const info = framework.framework_info;
  return info.roles ?? (info.role !== undefined ? [info.role] : ['*']);
}

export function FrameworksPage() {
  const { cluster } = useStore();
  const usage = useFrameworkUsage();
  const clusterTotal: Record<string, number> = {};
  for (const agent of cluster.agents.values())
    for (const [name, value] of Object.entries(
      scalars(agent.total_resources ?? agent.agent_info.resources),
    ))
      clusterTotal[name] = (clusterTotal[name] ?? 0) + value;
  const tasksByFramework = new Map<string, { active: number; done: number }>();
  for (const task of cluster.tasks.values()) {
    const counts = tasksByFramework.get(task.framework_id.value) ?? { active: 0, done: 0 };
    if (isTerminal(task.state)) counts.done += 1;
    else counts.active += 1;
    tasksByFramework.set(task.framework_id.value, counts);
  }
  const frameworks = [...cluster.frameworks.values()].sort((a, b) =>
    a.framework_info.name.localeCompare(b.framework_info.name),
  );
  return (
    <section aria-labelledby="frameworks-title">
      <h1 id="frameworks-title">Frameworks</h1>
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">Framework</th>
              <th scope="col">Roles</th>
              <th scope="col">State</th>
              <th scope="col" title="Dominant share of the cluster's resources">
                Share
              </th>
              {SHOWN.map((name) => (
                <th scope="col" key={name}>
                  {name}
                </th>
              ))}
              <th scope="col">Tasks (active / done)</th>
            </tr>
          </thead>
          <tbody>
            {frameworks.map((framework) => {
              const id = framework.framework_info.id?.value ?? '';
              const used = usage.get(id)?.used;
              const allocated: Record<string, number> = {};
              for (const name of SHOWN) allocated[name] = scalar(used, name);
              // Dominant share (DRF): the largest fraction of any resource it holds.
              const share = Math.max(
                0,
                ...Object.entries(allocated).map(([name, value]) =>
                  clusterTotal[name] ? value / (clusterTotal[name] ?? 1) : 0,
                ),
              );
              const counts = tasksByFramework.get(id) ?? { active: 0, done: 0 };
              return (
                <tr key={id} data-framework-id={id}>
                  <td>
                    {framework.framework_info.webui_url ? (
                      <a href={framework.framework_info.webui_url} rel="noreferrer">
                        {framework.framework_info.name}
                      </a>
                    ) : (
                      framework.framework_info.name
                    )}
                    <div class="mono small">{id}</div>
                  </td>
                  <td>{rolesOf(framework).join(', ')}</td>
                  <td>
                    {framework.connected
                      ? 'connected'
                      : framework.active
                        ? 'disconnected'
                        : 'inactive'}
                  </td>
                  <td>
                    <meter min={0} max={1} value={share} aria-label="dominant share" />{' '}
                    {(share * 100).toFixed(1)}%
                  </td>
                  {SHOWN.map((name) => (
                    <td key={name}>
                      {used === undefined ? '…' : amount(name, allocated[name] ?? 0)}
                    </td>
                  ))}
                  <td>
                    <a href={href(['tasks'], { q: id })}>
                      {counts.active} / {counts.done}
                    </a>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {frameworks.length === 0 ? <p>No frameworks are registered.</p> : null}
      {cluster.completedFrameworks.size > 0 ? (
        <>
          <h2>Completed</h2>
          <ul>
            {[...cluster.completedFrameworks.values()].map((info) => (
              <li key={info.id?.value}>
                {info.name} <span class="mono small">{info.id?.value}</span>
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </section>
  );
}

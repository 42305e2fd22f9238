import { getJson } from '../api.js';
import { usePoll } from '../store.js';

interface MachineId {
  readonly hostname?: string;
  readonly ip?: string;
}
interface Schedule {
  readonly windows?: readonly {
    readonly machine_ids: readonly MachineId[];
    readonly unavailability: {
      readonly start: { readonly nanoseconds: number };
      readonly duration?: { readonly nanoseconds: number };
    };
  }[];
}
interface Status {
  readonly draining_machines?: readonly {
    readonly id: MachineId;
    readonly statuses?: readonly {
      readonly status: string;
      readonly framework_id: { value: string };
    }[];
  }[];
  readonly down_machines?: readonly MachineId[];
}

const machine = (m: MachineId) => [m.hostname, m.ip].filter(Boolean).join(' / ');

export function MaintenancePage() {
  const schedule = usePoll((s) => getJson<Schedule>('/master/maintenance/schedule', s), 5000);
  const status = usePoll((s) => getJson<Status>('/master/maintenance/status', s), 5000);
  const windows = schedule.value?.windows ?? [];
  return (
    <section aria-labelledby="maintenance-title">
      <h1 id="maintenance-title">Maintenance</h1>
      {schedule.error ? <p class="error">{schedule.error}</p> : null}
      <h2>Schedule</h2>
      {windows.length === 0 ? (
        <p data-testid="no-windows">No maintenance is scheduled.</p>
      ) : (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Machines</th>
                <th scope="col">Starts</th>
                <th scope="col">Duration</th>
              </tr>
            </thead>
            <tbody>
              {windows.map((w, i) => (
                <tr key={i}>
                  <td>{w.machine_ids.map(machine).join(', ')}</td>
                  <td>{new Date(w.unavailability.start.nanoseconds / 1e6).toLocaleString()}</td>
                  <td>
                    {w.unavailability.duration === undefined
                      ? 'indefinite'
                      : `${Math.round(w.unavailability.duration.nanoseconds / 6e10)} min`}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2>Draining machines</h2>
      {(status.value?.draining_machines ?? []).length === 0 ? (
        <p>None.</p>
      ) : (
        <ul>
          {(status.value?.draining_machines ?? []).map((m) => (
            <li key={machine(m.id)}>
              {machine(m.id)}:{' '}
              {(m.statuses ?? [])
                .map((s) => `${s.framework_id.value} ${s.status.toLowerCase()}`)
                .join(', ') || 'no answers from frameworks yet'}
            </li>
          ))}
        </ul>
      )}
      <h2>Down machines</h2>
      {(status.value?.down_machines ?? []).length === 0 ? (
        <p>None.</p>
      ) : (
        <ul>
          {(status.value?.down_machines ?? []).map((m) => (
            <li key={machine(m)}>{machine(m)}</li>
          ))}
        </ul>
      )}
    </section>
  );
}

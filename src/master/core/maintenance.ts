// Maintenance primitives (docs/maintenance.md): one schedule of windows, each
// a set of machines and when they may become unavailable. A scheduled machine
// is DRAINING: its agents are still offered, their offers carry the
// unavailability, and frameworks using them get inverse offers. START_MAINTENANCE
// takes machines DOWN: their agents are told to shut down and removed (their
// tasks TASK_LOST), and refused until STOP_MAINTENANCE brings the machines UP
// and out of the schedule. Every change is validated as Mesos validates it
// (src/master/maintenance.cpp) before anything moves, and is durable before
// anyone hears of it.
import { isIPv4 } from 'node:net';
import { scheduleMachines } from '../../registry/index.js';
import {
  BadRequestError,
  type MachineID,
  type MaintenanceSchedule,
  machineKey,
  type Unavailability,
} from '../../wire/index.js';
import { removeAgent } from './agents.js';
import { type CoreContext, persist } from './context.js';
import { unavailabilityChanged } from './inverse-offers.js';
import { agentMachineId } from './machines.js';
import { rescindAll } from './offers.js';
import type { AgentRecord } from './records.js';

const describe = (id: MachineID) => JSON.stringify(id);

/** Why a single MachineID is not valid, as Mesos checks it; undefined when it is. */
function machineProblem(id: MachineID): string | undefined {
  if ((id.hostname ?? '') === '' && (id.ip ?? '') === '')
    return "Both 'hostname' and 'ip' for a machine are empty";
  if ((id.ip ?? '') !== '' && !isIPv4(id.ip ?? ''))
    return `Machine ${describe(id)}: '${id.ip}' is not an IPv4 address`;
  return undefined;
}

/**
 * Mesos' rules for a new schedule: each window names machines, no machine
 * twice, each machine valid, durations not negative, and no DOWN machine left
 * out (only STOP_MAINTENANCE may bring one up).
 */
function scheduleProblem(core: CoreContext, schedule: MaintenanceSchedule): string | undefined {
  const seen = new Set<string>();
  for (const window of schedule.windows ?? []) {
    if ((window.machine_ids ?? []).length === 0)
      return 'List of machines in the maintenance window is empty';
    if ((window.unavailability.duration?.nanoseconds ?? 0) < 0)
      return "Unavailability 'duration' is negative";
    for (const id of window.machine_ids ?? []) {
      const problem = machineProblem(id);
      if (problem !== undefined) return problem;
      const key = machineKey(id);
      if (seen.has(key)) return `Machine '${describe(id)}' appears more than once in the schedule`;
      seen.add(key);
    }
  }
  for (const [key, machine] of core.books.machines)
    if (machine.mode === 'DOWN' && !seen.has(key))
      return `Machine '${describe(machine.id)}' is deactivated and cannot be removed from the schedule`;
  return undefined;
}

/** Mesos' rules for START_/STOP_MAINTENANCE's list: not empty, each machine valid, none twice. */
function machinesProblem(machines: readonly MachineID[]): string | undefined {
  if (machines.length === 0) return 'List of machines is empty';
  const seen = new Set<string>();
  for (const id of machines) {
    const problem = machineProblem(id);
    if (problem !== undefined) return problem;
    const key = machineKey(id);
    if (seen.has(key)) return `Machine '${describe(id)}' appears more than once in the schedule`;
    seen.add(key);
  }
  return undefined;
}

/** Registered agents (connected or not) on the machine. */
function agentsOn(core: CoreContext, key: string): AgentRecord[] {
  return [...core.books.agents.values()].filter(
    (agent) =>
      (agent.link.state === 'connected' || agent.link.state === 'disconnected') &&
      machineKey(agentMachineId(agent)) === key,
  );
}

/**
 * The unavailability of the machine's agents changed: their offers are
 * rescinded (the next ones say so), and what frameworks answered before is
 * forgotten; new inverse offers follow in the next cycle.
 */
function machineChanged(core: CoreContext, key: string): void {
  for (const agent of agentsOn(core, key)) {
    rescindAll(core, agent);
    unavailabilityChanged(core, agent);
  }
}

/**
 * UPDATE_MAINTENANCE_SCHEDULE: replaces the schedule. New machines are
 * DRAINING, machines left out are UP again, the others keep their mode and
 * take their window's unavailability. An empty schedule cancels all
 * maintenance but DOWN machines (which must stay). Throws BadRequestError first.
 */
export function updateSchedule(core: CoreContext, schedule: MaintenanceSchedule): void {
  const problem = scheduleProblem(core, schedule);
  if (problem !== undefined) throw new BadRequestError('schedule', problem);
  const normal: MaintenanceSchedule =
    (schedule.windows ?? []).length === 0 ? {} : { windows: schedule.windows };
  persist(core, { kind: 'updateMaintenanceSchedule', schedule: normal });
  const wanted = new Map<string, { id: MachineID; unavailability: Unavailability }>();
  for (const window of normal.windows ?? [])
    for (const id of window.machine_ids ?? [])
      wanted.set(machineKey(id), { id, unavailability: window.unavailability });
  const { machines } = core.books;
  for (const key of [...machines.keys()])
    if (!wanted.has(key)) {
      machines.delete(key);
      machineChanged(core, key);
    }
  for (const [key, { id, unavailability }] of wanted) {
    const machine = machines.get(key);
    // As Mesos does, the agents hear of it even when the window is the same as before.
    if (machine === undefined) machines.set(key, { id, mode: 'DRAINING', unavailability });
    else machine.unavailability = unavailability;
    machineChanged(core, key);
  }
  core.books.schedule = normal;
  core.log.info({ machines: machines.size }, 'maintenance schedule updated');
  core.allocation.runSoon();
}

/**
 * START_MAINTENANCE (POST /machine/down): the machines, each DRAINING, go
 * DOWN. Their agents are told to shut down and removed, their tasks reported
 * TASK_LOST, and agents on them are refused until STOP_MAINTENANCE.
 */
export function startMaintenance(core: CoreContext, ids: readonly MachineID[]): void {
  const problem = machinesProblem(ids);
  if (problem !== undefined) throw new BadRequestError('machines', problem);
  for (const id of ids) {
    const machine = core.books.machines.get(machineKey(id));
    if (machine === undefined)
      throw new BadRequestError(
        'machines',
        `Machine '${describe(id)}' is not part of a maintenance schedule`,
      );
    if (machine.mode !== 'DRAINING')
      throw new BadRequestError(
        'machines',
        `Machine '${describe(id)}' is not in DRAINING mode and cannot be brought down`,
      );
  }
  persist(core, { kind: 'startMaintenance', machines: ids });
  for (const id of ids) {
    const key = machineKey(id);
    for (const agent of agentsOn(core, key)) removeAgent(core, agent, 'down');
    const machine = core.books.machines.get(key);
    if (machine !== undefined) machine.mode = 'DOWN';
  }
  core.log.info({ machines: ids.map(describe) }, 'maintenance started');
}

/**
 * STOP_MAINTENANCE (POST /machine/up): the machines, each DOWN, are UP again
 * and leave the schedule (windows left empty go). Their agents may register.
 */
export function stopMaintenance(core: CoreContext, ids: readonly MachineID[]): void {
  const problem = machinesProblem(ids);
  if (problem !== undefined) throw new BadRequestError('machines', problem);
  for (const id of ids) {
    const machine = core.books.machines.get(machineKey(id));
    if (machine === undefined)
      throw new BadRequestError(
        'machines',
        `Machine '${describe(id)}' is not part of a maintenance schedule`,
      );
    if (machine.mode !== 'DOWN')
      throw new BadRequestError(
        'machines',
        `Machine '${describe(id)}' is not in DOWN mode and cannot be brought up`,
      );
  }
  persist(core, { kind: 'stopMaintenance', machines: ids });
  const up = new Set(ids.map(machineKey));
  for (const key of up) core.books.machines.delete(key);
  const windows = (core.books.schedule.windows ?? [])
    .map((window) => ({
      ...window,
      machine_ids: (window.machine_ids ?? []).filter((m) => !up.has(machineKey(m))),
    }))
    .filter((window) => window.machine_ids.length > 0);
  core.books.schedule = windows.length === 0 ? {} : { windows };
  core.log.info({ machines: ids.map(describe) }, 'maintenance stopped');
}

/** The schedule and DOWN machines the registry kept, at master start-up. */
export function recoverMaintenance(
  core: CoreContext,
  schedule: MaintenanceSchedule,
  downMachines: readonly MachineID[],
): void {
  core.books.schedule = schedule;
  const down = new Set(downMachines.map(machineKey));
  for (const window of schedule.windows ?? [])
    for (const id of window.machine_ids ?? [])
      core.books.machines.set(machineKey(id), {
        id,
        mode: down.has(machineKey(id)) ? 'DOWN' : 'DRAINING',
        unavailability: window.unavailability,
      });
  if (scheduleMachines(schedule).length > 0)
    core.log.info(
      { machines: core.books.machines.size, down: down.size },
      'maintenance schedule recovered',
    );
}

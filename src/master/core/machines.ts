// Which machine an agent runs on, as maintenance names machines. Mesos keys
// an agent's machine by its hostname and the IP it registered from, and two
// MachineIDs are the same machine only when both fields match (wire's
// machineKey). So a schedule entry with a hostname alone never matches an
// agent, which always has both: docs/maintenance.md tells operators to give both.
import { type MachineID, machineKey, type Unavailability } from '../../wire/index.js';
import type { ReadonlyBooks } from './books.js';
import type { AgentRecord, MachineRecord } from './records.js';

/** The machine an agent runs on: its hostname and the address it registered from. */
export function agentMachineId(agent: Pick<AgentRecord, 'info' | 'ip'>): MachineID {
  return { hostname: agent.info.hostname, ip: agent.ip };
}

/** The agent's machine if the maintenance schedule has it (DRAINING or DOWN), else undefined. */
export function machineOf(
  books: Pick<ReadonlyBooks, 'machines'>,
  agent: Pick<AgentRecord, 'info' | 'ip'>,
): Readonly<MachineRecord> | undefined {
  if (books.machines.size === 0) return undefined;
  return books.machines.get(machineKey(agentMachineId(agent)));
}

/** The unavailability offers of the agent carry while its machine is scheduled, else undefined. */
export function unavailabilityOf(
  books: Pick<ReadonlyBooks, 'machines'>,
  agent: Pick<AgentRecord, 'info' | 'ip'>,
): Unavailability | undefined {
  const machine = machineOf(books, agent);
  return machine?.mode === 'DRAINING' ? machine.unavailability : undefined;
}

/** True when the agent's machine is DOWN: it may not register until STOP_MAINTENANCE. */
export function isMachineDown(
  books: Pick<ReadonlyBooks, 'machines'>,
  agent: Pick<AgentRecord, 'info' | 'ip'>,
): boolean {
  return machineOf(books, agent)?.mode === 'DOWN';
}

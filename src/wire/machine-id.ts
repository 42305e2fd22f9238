// When two MachineIDs name the same machine, as Mesos decides it: both fields
// must match, the hostname without regard to case, and a field that is absent
// matches only an absent one (include/mesos/type_utils.hpp, operator==).
import type { MachineID } from './messages.js';

/** A key equal for exactly the MachineIDs Mesos takes for the same machine. */
export function machineKey(id: MachineID): string {
  return JSON.stringify([id.hostname?.toLowerCase() ?? null, id.ip ?? null]);
}

// How agents that run on one host divide it (pure). Each agent detects the
// whole host by itself, so two agents on one machine would offer it twice over
// and hand the same ports to two tasks; `agora up` gives each its share instead.

export interface PortRange {
  readonly begin: number;
  readonly end: number;
}

/** Resources of a host, or of an agent's share of it. */
export interface HostShare {
  readonly cpus: number;
  readonly memMb: number;
  readonly diskMb: number;
  readonly ports: PortRange;
}

/** Mesos keeps three decimals of a scalar; a share is counted in these. */
const MILLIS = 1000;

/**
 * Splits `host` into `count` equal shares: cpus rounded down to Mesos' three
 * decimals (whole CPUs whenever they divide evenly), mem and disk down to whole
 * MB, and the port range cut into disjoint consecutive ranges. The shares never
 * add up to more than `host`; what rounding leaves over is offered by nobody.
 * Throws RangeError when a share would hold no CPU or no port.
 */
export function splitHost(host: HostShare, count: number): HostShare[] {
  if (!Number.isInteger(count) || count < 1)
    throw new RangeError(`cannot split a host ${count} ways`);
  const cpuMillis = Math.floor(Math.round(host.cpus * MILLIS) / count);
  const portCount = Math.floor((host.ports.end - host.ports.begin + 1) / count);
  if (cpuMillis < 1) throw new RangeError(`${count} agents cannot share ${host.cpus} CPUs`);
  if (portCount < 1)
    throw new RangeError(
      `${count} agents cannot share the ports ${host.ports.begin}-${host.ports.end}`,
    );
  return Array.from({ length: count }, (_, i) => ({
    cpus: cpuMillis / MILLIS,
    memMb: Math.floor(host.memMb / count),
    diskMb: Math.floor(host.diskMb / count),
    ports: {
      begin: host.ports.begin + i * portCount,
      end: host.ports.begin + (i + 1) * portCount - 1,
    },
  }));
}

// What a container may use, from its resources, in the cgroups isolator's terms; and
// the message of a container the kernel killed for memory, as Mesos words it.
import type { Resources } from '../resources/index.js';
import type { CgroupLimits } from './cgroups.js';
import type { Limitation, ResourceLimits } from './types.js';

/** Mesos' smallest memory limit (MIN_MEMORY): below it a container cannot even start a shell. */
const MIN_MEMORY_BYTES = 32 * 1024 * 1024;

/** The containerizer's isolation, as far as limits go (mesos-containerizer.ts Isolation). */
export type LimitIsolation =
  | { readonly kind: 'posix' }
  | { readonly kind: 'cgroups'; readonly enableCfs: boolean; readonly pidsMax: number };

/** A container's limits from its resources, and its limits above them when it has some. */
export function containerLimits(
  isolation: LimitIsolation,
  resources: Resources,
  limits: ResourceLimits = {},
): CgroupLimits {
  const enableCfs = isolation.kind === 'cgroups' && isolation.enableCfs;
  const pidsMax = isolation.kind === 'cgroups' ? isolation.pidsMax : 0;
  const cpus = resources.scalar('cpus');
  const quotaCpus = limits.cpus ?? (enableCfs ? cpus : 0);
  const memMb = limits.memMb ?? resources.scalar('mem');
  return {
    cpuShares: Math.max(2, Math.round(cpus * 1024)),
    // An infinite CPU limit is no quota, even with --cgroups_enable_cfs.
    ...(quotaCpus > 0 && Number.isFinite(quotaCpus)
      ? { cfsQuotaUs: Math.round(quotaCpus * 100_000) }
      : {}),
    // Infinity for an infinite memory limit: the cgroup's own "no limit" (cgroups.ts).

    memoryLimitBytes: Math.max(MIN_MEMORY_BYTES, Math.round(memMb * 1024 * 1024)),
    pidsMax,
  };
}

export function memoryLimitation(resources: Resources, peakBytes: number | undefined): Limitation {
  const limitMb = Math.max(MIN_MEMORY_BYTES / 1024 / 1024, resources.scalar('mem'));
  const peak = peakBytes === undefined ? 'unknown' : `${Math.round(peakBytes / 1024 / 1024)}MB`;
  return {
    reason: 'REASON_CONTAINER_LIMITATION_MEMORY',
    message: `Memory limit exceeded: Requested: ${limitMb}MB Maximum Used: ${peak}`,
  };
}

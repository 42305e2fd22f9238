// Which isolation an agent runs with: --isolation as Mesos spells it
// (`posix/cpu,posix/mem` or `cgroups/cpu,cgroups/mem,cgroups/pids`), or by
// default cgroups where the agent can use them (root, controllers mounted) and
// the POSIX isolators otherwise, said once at start-up (#9).
import { type CgroupsDetection, detectCgroups } from './cgroups.js';
import type { Isolation } from './mesos-containerizer.js';

export const DEFAULT_CGROUPS_ROOT = 'agora';
/** Processes a container may run at once: generous for real work, a wall for fork bombs. */
export const DEFAULT_PIDS_MAX = 10_000;

export interface IsolationChoice {
  readonly isolation: Isolation;
  /** Set when the agent fell back to POSIX isolation: why, for one warning line. */
  readonly warning?: string;
}

export interface IsolationRequest {
  /** The --isolation flag, or undefined for the default. */
  readonly flag: string | undefined;
  readonly cgroupsRoot: string;
  readonly enableCfs: boolean;
  readonly pidsMax: number;
}

/** Parses --isolation and decides; throws Error (a usage error) for an isolator it does not know. */
export function chooseIsolation(
  request: IsolationRequest,
  detection: CgroupsDetection,
  isRoot: boolean,
): IsolationChoice {
  const isolators = (request.flag ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const isolator of isolators)
    if (
      !/^(posix\/(cpu|mem|disk)|cgroups\/(cpu|mem|pids|all)|namespaces\/pid|filesystem\/(posix|linux)|docker\/runtime)$/.test(
        isolator,
      )
    )
      throw new Error(`--isolation: unknown isolator '${isolator}'`);
  const wantsCgroups =
    request.flag === undefined || isolators.some((isolator) => isolator.startsWith('cgroups/'));
  if (!wantsCgroups) return { isolation: { kind: 'posix' } };
  const unavailable = !isRoot
    ? 'the agent is not root'
    : detection.kind === 'unavailable'
      ? detection.reason
      : undefined;
  if (unavailable !== undefined || detection.kind !== 'available')
    return {
      isolation: { kind: 'posix' },
      warning: `cgroups isolation unavailable (${unavailable ?? 'no cgroups'}); tasks run with posix/cpu,posix/mem, unlimited`,
    };
  return {
    isolation: {
      kind: 'cgroups',
      hierarchy: detection.hierarchy,
      root: request.cgroupsRoot,
      enableCfs: request.enableCfs,
      pidsMax: request.pidsMax,
    },
  };
}

/** The host's cgroups, read from /proc/self/mountinfo (none if it cannot be read). */
export function detectHostCgroups(readMountinfo: () => string): CgroupsDetection {
  try {
    return detectCgroups(readMountinfo());
  } catch (error) {
    return { kind: 'unavailable', reason: `cannot read mountinfo: ${(error as Error).message}` };
  }
}

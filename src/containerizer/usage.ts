// What a container uses, as /monitor/statistics reports it (Mesos' ResourceStatistics):
// from its cgroup's counters, or, under POSIX isolation, summed over its process group
// from /proc.
import { readdirSync, readFileSync } from 'node:fs';
import type { Resources } from '../resources/index.js';
import type { ContainerCgroup } from './cgroups.js';
import type { ResourceStatistics } from './types.js';

/** Usage from the cgroup's counters, or from /proc for the task's process group. */
export function usageOf(running: {
  readonly taskPid: number;
  readonly cgroup: ContainerCgroup | undefined;
  readonly resources: Resources;
}): ResourceStatistics {
  const timestamp = Date.now() / 1000;
  const cpusLimit = running.resources.scalar('cpus');
  const memLimit = Math.round(running.resources.scalar('mem') * 1024 * 1024);
  if (running.cgroup !== undefined) {
    const s = running.cgroup.statistics();
    return dropUndefined({
      timestamp,
      processes: s.processes,
      cpus_user_time_secs: s.cpuUserSecs,
      cpus_system_time_secs: s.cpuSystemSecs,
      cpus_limit: cpusLimit,
      cpus_nr_periods: s.nrPeriods,
      cpus_nr_throttled: s.nrThrottled,
      cpus_throttled_time_secs: s.throttledSecs,
      mem_total_bytes: s.memoryBytes,
      mem_rss_bytes: s.memoryRssBytes,
      mem_cache_bytes: s.memoryCacheBytes,
      mem_limit_bytes: memLimit,
      mem_max_total_bytes: s.memoryPeakBytes,
    });
  }
  return {
    timestamp,
    ...procUsage(running.taskPid),
    cpus_limit: cpusLimit,
    mem_limit_bytes: memLimit,
  };
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

const CLOCK_TICKS_PER_SECOND = 100;
const PAGE_BYTES = 4096;

/** CPU time and RSS summed over the processes of one process group, from /proc. */
function procUsage(pgid: number): Partial<ResourceStatistics> {
  let user = 0;
  let system = 0;
  let rss = 0;
  let processes = 0;
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return {};
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) !== pgid) continue;
    processes += 1;
    user += Number(fields[11] ?? 0);
    system += Number(fields[12] ?? 0);
    rss += Number(fields[21] ?? 0) * PAGE_BYTES;
  }
  return {
    processes,
    cpus_user_time_secs: user / CLOCK_TICKS_PER_SECOND,
    cpus_system_time_secs: system / CLOCK_TICKS_PER_SECOND,
    mem_rss_bytes: rss,
    mem_total_bytes: rss,
  };
}

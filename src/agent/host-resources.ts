import { statfsSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { parseResourcesFlag, Resources } from '../resources/index.js';

const MB = 1024 * 1024;
const GB = 1024 * MB;

/**
 * What this host offers when `--resources` does not say (WIRE §9): every CPU;
 * memory less 1 GB for the system (half of it below 2 GB); the work_dir's disk
 * less 5 GB (half below 10 GB); ports 31000-32000.
 */
export function detectHostResources(workDir: string): Resources {
  const memBytes = totalmem();
  const mem = memBytes < 2 * GB ? memBytes / 2 : memBytes - GB;
  const fs = statfsSync(workDir);
  const diskBytes = fs.blocks * fs.bsize;
  const disk = diskBytes < 10 * GB ? diskBytes / 2 : diskBytes - 5 * GB;
  return Resources.parse(
    `cpus:${availableParallelism()};mem:${Math.floor(mem / MB)};disk:${Math.floor(disk / MB)};ports:[31000-32000]`,
  );
}

/** `--resources` replaces detected resources name by name; names it does not mention stay detected. */
export function agentResources(workDir: string, flag: string | undefined): Resources {
  const detected = detectHostResources(workDir);
  if (flag === undefined || flag.trim() === '') return detected;
  const given = parseResourcesFlag(flag);
  const givenNames = new Set(given.names());
  return detected.filter((r) => !givenNames.has(r.name)).plus(given);
}

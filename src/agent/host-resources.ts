import { statfsSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { parseResourcesFlag, Resources } from '../resources/index.js';
import type { HostShare } from './host-share.js';

const MB = 1024 * 1024;
const GB = 1024 * MB;

/** Mesos' default port range for agents that are not told otherwise (WIRE §9). */
export const DEFAULT_PORTS = { begin: 31000, end: 32000 } as const;

/**
 * Memory an agent offers out of `totalBytes`, in whole MB: all but 1 GB for the
 * system, or half of it below 2 GB (Mesos' `Containerizer::resources`).
 */
export function offerableMemoryMb(totalBytes: number): number {
  const bytes = totalBytes < 2 * GB ? totalBytes / 2 : totalBytes - GB;
  return Math.floor(bytes / MB);
}

/**
 * Disk an agent offers out of `freeBytes`, in whole MB, with Mesos' reserve:
 * all but 5 GB, or half of it below 10 GB.
 *
 * Mesos applies this to the file system's *size* (statvfs f_blocks). We apply
 * it to what is *free* for an unprivileged writer (f_bavail): a work dir on a
 * half-full disk must not offer space that other files already hold (#7, 11).
 */
export function offerableDiskMb(freeBytes: number): number {
  const bytes = freeBytes < 10 * GB ? freeBytes / 2 : freeBytes - 5 * GB;
  return Math.floor(bytes / MB);
}

/** What this host has for agents under `workDir`, after the system's reserves (I/O: statfs, os). */
export function detectHost(workDir: string): HostShare {
  const fs = statfsSync(workDir);
  return {
    cpus: availableParallelism(),
    memMb: offerableMemoryMb(totalmem()),
    diskMb: offerableDiskMb(fs.bavail * fs.bsize),
    ports: DEFAULT_PORTS,
  };
}

/** A share as Mesos' `--resources` text: `cpus:2;mem:1024;disk:4096;ports:[31000-32000]`. */
export function shareText(share: HostShare): string {
  return `cpus:${share.cpus};mem:${share.memMb};disk:${share.diskMb};ports:[${share.ports.begin}-${share.ports.end}]`;
}

/**
 * What this host offers when `--resources` does not say (WIRE §9): every CPU;
 * memory less 1 GB for the system (half of it below 2 GB); the disk free under
 * work_dir less 5 GB (half below 10 GB); ports 31000-32000.
 */
export function detectHostResources(workDir: string): Resources {
  return Resources.parse(shareText(detectHost(workDir)));
}

/** `flag` replaces `base` name by name; names it does not mention keep `base`'s value. */
export function overrideByName(base: Resources, flag: string | undefined): Resources {
  if (flag === undefined || flag.trim() === '') return base;
  const given = parseResourcesFlag(flag);
  const givenNames = new Set(given.names());
  return base.filter((r) => !givenNames.has(r.name)).plus(given);
}

/** `--resources` replaces detected resources name by name; names it does not mention stay detected. */
export function agentResources(workDir: string, flag: string | undefined): Resources {
  return overrideByName(detectHostResources(workDir), flag);
}

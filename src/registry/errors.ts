import { AgoraError } from '../wire/index.js';

/**
 * Operating trouble with the registry. The code is UNAVAILABLE: a request that
 * needed the registry gets 503, and a master that cannot recover its registry
 * must not serve.
 */
export class RegistryError extends AgoraError {
  constructor(message: string, options?: ErrorOptions) {
    super('UNAVAILABLE', message, options);
  }
}

/**
 * The stored state cannot be read back: a damaged record that valid records
 * follow (so it is not a torn final append), a snapshot that does not parse, or a
 * log that contradicts the snapshot. Recovering past it would silently lose
 * acknowledged operations, so a person must act.
 */
export class RegistryCorruptError extends RegistryError {
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`registry file ${file} is corrupt at byte ${offset}: ${reason}`, options);
  }
}

/**
 * Stored state in a format this build does not know: written by a newer build
 * of Agora. Reading on would misread it and a write would destroy it, so the
 * master refuses to start until a build that reads the format runs it.
 */
export class RegistryFormatError extends RegistryError {
  constructor(
    /** The file or key holding it: `zk:/agora/registry/head`, `…/snapshot.json`. */
    readonly where: string,
    readonly found: number,
    readonly supported: readonly number[],
  ) {
    super(
      `registry ${where} has format ${found}, which this build of Agora does not read (it reads ${formatList(supported)}): a newer build wrote it; run that build or a later one`,
    );
  }
}

function formatList(formats: readonly number[]): string {
  const names = formats.map(String);
  const last = names.pop();
  return names.length === 0 ? `format ${last}` : `formats ${names.join(', ')} and ${last}`;
}

/** Another live process (or another registry in this one) holds the directory. */
export class RegistryLockedError extends RegistryError {
  constructor(
    readonly lockFile: string,
    /** The holder's pid, or undefined when the lock kept changing hands while we looked. */
    readonly holderPid: number | undefined,
  ) {
    super(
      holderPid === undefined
        ? `registry lock ${lockFile} is held by another process`
        : `registry lock ${lockFile} is held by live process ${holderPid}`,
    );
  }
}

/** apply() after close() began. */
export class RegistryClosedError extends RegistryError {
  constructor() {
    super('registry is closed');
  }
}

/**
 * A write, fsync or compaction failed. After a failed fsync the kernel may have
 * dropped the dirty pages, so nothing later can be promised durable: every further
 * apply() rejects with this error (the first failure is the cause). Restart the
 * master; recovery reads back exactly what reached the disk.
 */
export class RegistryFailedError extends RegistryError {}

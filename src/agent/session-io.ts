// Small pieces of the nested-container calls (sessions.ts): ids that name directories,
// and ProcessIO records on a RecordIO response.
import type { ServerResponse } from 'node:http';
import { constants } from 'node:os';
import type { Termination } from '../containerizer/index.js';
import type { MessageEncoder } from '../runtime/index.js';
import {
  BadRequestError,
  encodeRecord,
  type NestedContainerID,
  type ProcessIO,
  terminationMessage,
} from '../wire/index.js';

/**
 * A container id names its sandbox and record directories: no '/', '\\', NUL, '.' or '..'
 * (Mesos allows letters, digits, '-', '_' and '.' in an id).
 */
export function checkIdValue(id: NestedContainerID, field: string): void {
  if (id.value === '.' || id.value === '..' || /[/\\\0]/.test(id.value))
    throw new BadRequestError(
      `${field}.container_id.value`,
      "names the container's sandbox directory: no '/', '\\', NUL, '.' or '..'",
    );
}

/**
 * How a streamed reply is framed, as its client's Accept chose (WIRE §1.4): the records
 * are RecordIO whatever the Content-Type says (`application/json` or `…/x-protobuf` for
 * clients that predate `application/recordio`, as Mesos answers them), and each record is
 * one message in `records`' encoding.
 */
export interface RecordStreamFormat {
  /** The reply's Content-Type and, for `application/recordio`, its Message-Content-Type. */
  readonly headers: Readonly<Record<string, string>>;
  readonly records: MessageEncoder;
}

/** A container's output on one client's response, a ProcessIO record at a time. */
export class ProcessIOStream {
  constructor(
    private readonly response: ServerResponse,
    private readonly format: RecordStreamFormat,
  ) {}

  /** Sends the head at once: the client learns the session started before any output. */
  open(): void {
    this.response.writeHead(200, { ...this.format.headers, 'cache-control': 'no-cache' });
    this.response.flushHeaders();
  }

  /** One record per write: clients that parse a chunk at a time see each (WIRE §1.5). */
  write(record: ProcessIO): void {
    if (!this.response.writableEnded)
      this.response.write(encodeRecord(this.format.records.encode(record)));
  }

  end(): void {
    this.response.end();
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export function abortion(signal: AbortSignal): Promise<void> {
  return signal.aborted
    ? Promise.resolve()
    : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

export function signalNumber(signal: NodeJS.Signals): number {
  return constants.signals[signal] ?? 0;
}

/** WAIT_CONTAINER's reply for a container that ended so (nested or standalone). */
export function waitReply(termination: Termination): Record<string, unknown> {
  return {
    ...(termination.exitCode !== null ? { exit_status: termination.exitCode << 8 } : {}),
    ...(termination.signal !== null ? { exit_status: signalNumber(termination.signal) } : {}),
    message:
      termination.isUnknown === true
        ? 'The container ended while the agent was not running; its exit status is unknown'
        : terminationMessage(termination),
    ...(termination.limitation !== undefined
      ? { reason: termination.limitation.reason, message: termination.limitation.message }
      : {}),
  };
}

// Small pieces of the nested-container calls (sessions.ts): ids that name directories,
// and ProcessIO records on a RecordIO response.
import type { ServerResponse } from 'node:http';
import { constants } from 'node:os';
import {
  BadRequestError,
  encodeRecord,
  type NestedContainerID,
  type ProcessIO,
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

export function openRecordStream(response: ServerResponse): void {
  response.writeHead(200, {
    'content-type': 'application/recordio',
    'message-content-type': 'application/json',
    'cache-control': 'no-cache',
  });
  response.flushHeaders();
}

export function writeRecord(response: ServerResponse, record: ProcessIO): void {
  if (!response.writableEnded) response.write(encodeRecord(JSON.stringify(record)));
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

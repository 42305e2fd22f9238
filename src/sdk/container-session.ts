// A client of an agent's container calls (agent operator API, WIRE §6.3): a
// command run in a task's container (LAUNCH_NESTED_CONTAINER_SESSION) with its
// input fed as it comes (ATTACH_CONTAINER_INPUT), a container's output
// followed (ATTACH_CONTAINER_OUTPUT), how it ended (WAIT_CONTAINER), signals
// (KILL_CONTAINER). What `agora task exec` and `agora task attach` are built on,
// as `mesos task exec` is on the same calls.
import type { IncomingMessage } from 'node:http';
import {
  type CommandInfo,
  encodeRecord,
  type NestedContainerID,
  type ProcessIO,
  RecordIODecoder,
} from '../wire/index.js';
import { clientTls } from './client-tls.js';
import {
  asConnectionError,
  HttpStatusError,
  openStream,
  postJson,
  request,
} from './http-client.js';

/** How a container ended, as WAIT_CONTAINER tells it. */
export interface ContainerWait {
  /** A wait(2) status: exit code << 8, or the signal's number. */
  readonly exit_status?: number;
  readonly reason?: string;
  readonly message?: string;
}

const STREAM_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/recordio',
  'message-accept': 'application/json',
} as const;

const apiUrl = (agent: URL) => new URL('/api/v1', agent);

async function openRecordStream(
  agent: URL,
  call: unknown,
  signal: AbortSignal | undefined,
): Promise<IncomingMessage> {
  const response = await openStream(apiUrl(agent), {
    method: 'POST',
    body: JSON.stringify(call),
    headers: STREAM_HEADERS,
    ...(signal !== undefined ? { signal } : {}),
  });
  if (response.statusCode !== 200) {
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(chunk as Buffer);
    throw new HttpStatusError(
      response.statusCode ?? 0,
      Buffer.concat(chunks).toString('utf8'),
      apiUrl(agent).href,
    );
  }
  return response;
}

/**
 * Starts `command` in a container nested in `id.parent` and returns its output
 * stream once the agent has started it (so input may be attached from then on).
 * Throws HttpStatusError when the agent refuses (no such container, 4xx).
 */
export function launchNestedContainerSession(
  agent: URL,
  id: NestedContainerID,
  command: CommandInfo,
  options: { readonly signal?: AbortSignal } = {},
): Promise<IncomingMessage> {
  return openRecordStream(
    agent,
    {
      type: 'LAUNCH_NESTED_CONTAINER_SESSION',
      launch_nested_container_session: { container_id: id, command },
    },
    options.signal,
  );
}

/** Follows a container's output (a task's stdout and stderr from now on) until it ends. */
export function attachContainerOutput(
  agent: URL,
  id: NestedContainerID,
  options: { readonly signal?: AbortSignal } = {},
): Promise<IncomingMessage> {
  return openRecordStream(
    agent,
    { type: 'ATTACH_CONTAINER_OUTPUT', attach_container_output: { container_id: id } },
    options.signal,
  );
}

/** The ProcessIO records of an output stream, in order. */
export async function* processIoRecords(stream: AsyncIterable<unknown>): AsyncGenerator<ProcessIO> {
  const decoder = new RecordIODecoder();
  for await (const chunk of stream)
    for (const record of decoder.decode(chunk as Buffer))
      yield JSON.parse(record.toString('utf8')) as ProcessIO;
}

/**
 * Feeds `input` to a session's stdin as one streamed request (RecordIO: the
 * container's id, then a DATA STDIN record per chunk), then closes the
 * session's stdin with an empty record. Respects the socket's backpressure.
 */
export function attachContainerInput(
  agent: URL,
  id: NestedContainerID,
  input: AsyncIterable<Uint8Array>,
  options: { readonly signal?: AbortSignal } = {},
): Promise<void> {
  const url = apiUrl(agent);
  const isTls = url.protocol === 'https:';
  const http = process.getBuiltinModule(isTls ? 'node:https' : 'node:http');
  return new Promise<void>((resolve, reject) => {
    const req = http.request(url, {
      ...(isTls ? clientTls() : {}),
      method: 'POST',
      agent: false,
      headers: {
        'content-type': 'application/recordio',
        'message-content-type': 'application/json',
        accept: 'application/json',
      },
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    });
    req.once('error', (error) => reject(asConnectionError(url, error)));
    req.once('response', (response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('end', () =>
        response.statusCode === 200
          ? resolve()
          : reject(
              new HttpStatusError(
                response.statusCode ?? 0,
                Buffer.concat(chunks).toString('utf8'),
                url.href,
              ),
            ),
      );
      response.once('error', reject);
    });
    const write = async (call: unknown) => {
      if (!req.write(encodeRecord(JSON.stringify(call))))
        await new Promise<void>((drained, failed) => {
          const onError = (error: Error) => failed(error);
          req.once('error', onError);
          req.once('drain', () => {
            req.off('error', onError);
            drained();
          });
        });
    };
    const stdin = (bytes: Uint8Array) => ({
      type: 'ATTACH_CONTAINER_INPUT',
      attach_container_input: {
        type: 'PROCESS_IO',
        process_io: {
          type: 'DATA',
          data: { type: 'STDIN', data: Buffer.from(bytes).toString('base64') },
        },
      },
    });
    void (async () => {
      await write({
        type: 'ATTACH_CONTAINER_INPUT',
        attach_container_input: { type: 'CONTAINER_ID', container_id: id },
      });
      for await (const chunk of input) if (chunk.length > 0) await write(stdin(chunk));
      // An empty DATA record is end of input: the session's stdin is closed.
      await write(stdin(new Uint8Array(0)));
      req.end();
    })().catch((error: unknown) => {
      req.destroy(error instanceof Error ? error : new Error(String(error)));
      reject(error);
    });
  });
}

/** How a container ended; waits for it to end. */
export async function waitContainer(
  agent: URL,
  id: NestedContainerID,
  options: { readonly signal?: AbortSignal } = {},
): Promise<ContainerWait> {
  const result = await postJson(
    apiUrl(agent),
    { type: 'WAIT_CONTAINER', wait_container: { container_id: id } },
    options,
  );
  const body = JSON.parse(result.body.toString('utf8')) as { wait_container?: ContainerWait };
  return body.wait_container ?? {};
}

/** Sends `signal` (a number) to a container: a session's process, or a task's whole container. */
export async function killContainer(
  agent: URL,
  id: NestedContainerID,
  signal: number,
  options: { readonly signal?: AbortSignal } = {},
): Promise<void> {
  const result = await request(apiUrl(agent), {
    method: 'POST',
    body: JSON.stringify({ type: 'KILL_CONTAINER', kill_container: { container_id: id, signal } }),
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
  });
  if (result.status !== 200)
    throw new HttpStatusError(result.status, result.body.toString('utf8'), apiUrl(agent).href);
}

/**
 * The shell's exit status for a wait(2) status: the exit code, or 128+n for
 * signal n, as `sh` reports a signalled child.
 */
export function shellExitStatus(waitStatus: number): number {
  const signal = waitStatus & 0x7f;
  return signal === 0 ? (waitStatus >> 8) & 0xff : 128 + signal;
}

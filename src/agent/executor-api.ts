// POST /api/v1/executor (WIRE §5): HTTP-level checks in Mesos' order, then the
// call goes to the executors' books (executors.ts). Calls come as JSON or
// protobuf; SUBSCRIBE's event stream goes out in what Accept chooses.

import type { IncomingHttpHeaders } from 'node:http';
import {
  apiRoute,
  EventStream,
  HttpError,
  type HttpServer,
  type Logger,
} from '../runtime/index.js';
import {
  assertNever,
  BadRequestError,
  type ExecutorCall,
  type ExecutorEvent,
  PROTO_MESSAGES,
  parseExecutorCall,
  type TaskStatus,
} from '../wire/index.js';
import { bearerToken, type ExecutorClaims, verifyExecutorToken } from './executor-token.js';
import { ExecutorCallError, type ExecutorRun, type Executors } from './executors.js';

/** Mesos checks Accept only for SUBSCRIBE, the one call answered with a body. */
const isNegotiated = (call: ExecutorCall) => call.type === 'SUBSCRIBE';

/**
 * Serves the executor API. With `secretKey` (--executor_secret_key) every call must bear a
 * token this agent signed (401 without one, or with a forged one) whose claims name the
 * call's framework, executor and that executor's container (403 for another's).
 */
export function routeExecutorApi(
  http: HttpServer,
  executors: Executors,
  log: Logger,
  secretKey?: Buffer,
): void {
  const handler = apiRoute(
    {
      messages: { call: PROTO_MESSAGES.executorCall, event: PROTO_MESSAGES.executorEvent },
      parse: parseExecutorCall,
      isNegotiated,
    },
    async (call, exchange, request, response) => {
      const claims = secretKey === undefined ? undefined : authenticate(request.headers, secretKey);
      if (call.type === 'UPDATE') updateError(call.update.status, call.executor_id.value);
      if (claims !== undefined) {
        // The container is checked against the executor the call names, once it is found.
        if (claims.fid !== call.framework_id.value || claims.eid !== call.executor_id.value)
          throw new HttpError('FORBIDDEN', 'the token was issued to another executor');
      }
      const run = lookup(executors, call.framework_id.value, call.executor_id.value);
      if (claims !== undefined && claims.cid !== run.containerIdValue)
        throw new HttpError('FORBIDDEN', 'the token was issued to another container');
      switch (call.type) {
        case 'SUBSCRIBE': {
          const stream = new EventStream<ExecutorEvent>(response, {
            encoder: exchange.events,
            onEncodeError: (error) =>
              log.error(
                { err: error, executor_id: call.executor_id.value },
                'executor event could not be encoded',
              ),
          });
          request.signal.addEventListener('abort', () => stream.close(), { once: true });
          executors.subscribe(run, stream, {
            tasks: call.subscribe.unacknowledged_tasks ?? [],
            updates: (call.subscribe.unacknowledged_updates ?? []).map((u) => u.status),
          });
          if (!stream.closed.aborted)
            await new Promise<void>((resolve) =>
              stream.closed.addEventListener('abort', () => resolve(), { once: true }),
            );
          return;
        }
        case 'HEARTBEAT':
          exchange.replyEmpty(202);
          return;
        case 'UPDATE':
          subscribed(run);
          try {
            executors.update(run, call.update.status);
          } catch (error) {
            if (error instanceof ExecutorCallError)
              throw new BadRequestError('update.status.task_id', error.message);
            throw error;
          }
          exchange.replyEmpty(202);
          return;
        case 'MESSAGE':
          subscribed(run);
          executors.message(run, call.message.data);
          exchange.replyEmpty(202);
          return;
        default:
          assertNever(call);
      }
    },
  );
  // The server's delegate maps /api/v1/executor here too.
  http.route(['POST'], '/slave(1)/api/v1/executor', handler);
}

function lookup(executors: Executors, frameworkIdValue: string, executorIdValue: string) {
  try {
    return executors.lookup(frameworkIdValue, executorIdValue);
  } catch (error) {
    if (error instanceof ExecutorCallError)
      throw new BadRequestError(
        error.kind === 'FRAMEWORK_NOT_FOUND' ? 'framework_id' : 'executor_id',
        error.message,
      );
    throw error;
  }
}

/** The claims of the call's bearer token; throws UNAUTHENTICATED (401) without a valid one. */
function authenticate(headers: IncomingHttpHeaders, secretKey: Buffer): ExecutorClaims {
  const token = bearerToken(headers.authorization);
  const challenge = { 'www-authenticate': 'Bearer realm="mesos-agent-executor"' };
  if (token === undefined)
    throw new HttpError(
      'UNAUTHENTICATED',
      'an executor token (Authorization: Bearer) is required',
      challenge,
    );
  const check = verifyExecutorToken(token, secretKey);
  if (check.kind === 'invalid')
    throw new HttpError('UNAUTHENTICATED', `invalid executor token: ${check.reason}`, challenge);
  return check.claims;
}

function subscribed(run: ExecutorRun): void {
  if (run.phase !== 'subscribed' || run.stream === undefined)
    throw new HttpError('FORBIDDEN', 'Executor is not subscribed');
}

/**
 * What Mesos' validation refuses in an UPDATE (WIRE §5): a uuid, the executor as source, no
 * STAGING, and the executor's own id if one is named.
 */
function updateError(status: TaskStatus, executorIdValue: string): void {
  if (status.uuid === undefined)
    throw new BadRequestError('update.status.uuid', "'uuid' must be set");
  if (status.source !== 'SOURCE_EXECUTOR')
    throw new BadRequestError(
      'update.status.source',
      `Received Call from executor with invalid source '${status.source ?? 'none'}'`,
    );
  if (status.state === 'TASK_STAGING')
    throw new BadRequestError(
      'update.status.state',
      'Received TASK_STAGING from executor which is not allowed',
    );
  if (status.executor_id !== undefined && status.executor_id.value !== executorIdValue)
    throw new BadRequestError(
      'update.status.executor_id',
      `ExecutorID in Call: ${executorIdValue} does not match ExecutorID in TaskStatus: ${status.executor_id.value}`,
    );
}

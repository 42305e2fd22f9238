// POST /master/api/v1/agent: Agora's own agent protocol (see wire/agent-protocol.ts).
import type { ServerResponse } from 'node:http';
import {
  type FrontCall,
  HttpError,
  type HttpServer,
  parseJsonBody,
  type Request,
  readJsonBytes,
  requireAuthorized,
  type StreamResponse,
  sendEmpty,
  type TurnBudget,
} from '../../runtime/index.js';
import {
  type AgentCall,
  assertNever,
  BadRequestError,
  parseAgentCall,
  STREAM_ID_HEADER,
} from '../../wire/index.js';
import type { MasterApi } from '../api.js';

/** An agent's SUBSCRIBE may carry this much: ~100,000 tasks of a kilobyte or so each. */
const AGENT_SUBSCRIBE_BODY_BYTES = 128 * 1024 * 1024;

/**
 * Every call is read here and handled in `turns` (runtime/turn-budget.ts), in the order the
 * bodies arrived: a newly elected master meets every agent's SUBSCRIBE at once, and handled
 * as they are read they made one loop turn of seconds, in which the coordinator session's
 * keep-alive could not go out (#10). One queue for all agent calls keeps each agent's calls
 * in order (its UPDATEs after its SUBSCRIBE).
 */
export function routeAgentApi(
  http: HttpServer,
  master: MasterApi,
  turns: TurnBudget,
  isFrontOn: boolean,
): void {
  http.route(['POST'], '/master/api/v1/agent', async (request, response) => {
    // An agent's SUBSCRIBE lists every task it holds: thousands of tasks outgrow the
    // limit meant for calls from frameworks and operators.
    let body: Buffer | undefined = await readJsonBytes(
      request,
      Math.max(request.maxBodyBytes, AGENT_SUBSCRIBE_BODY_BYTES),
    );
    // A newly elected master still reading its registry: the call waits for it (master.ts).
    const recovering = master.recovered(request);
    if (recovering !== undefined) await recovering;
    // A SUBSCRIBE's handler waits here as long as the agent's stream lasts: the body, handed
    // over, is let go (kept, 10,000 agents' ~5 KB bodies lived as long as the agents, #10).
    await turns.run(() => {
      const bytes = body as Buffer;
      body = undefined;
      return handleCall(request, response, master, bytes);
    });
  });
  // Agora's own agents SUBSCRIBE in one exact request shape (runtime/front-request.ts):
  // the front reads those itself, and this answers the ones that open a stream.
  if (isFrontOn)
    http.front('POST', '/master/api/v1/agent', '{"type":"SUBSCRIBE",', (call) =>
      takeSubscribe(call, master, turns),
    );
}

/**
 * A SUBSCRIBE read by the connection front (runtime/http-front.ts): the route's success path
 * above, the same steps in the same queue, with the stream written by the front's own
 * writer. Whatever the route would answer otherwise (a body that does not parse, a call
 * refused, the master stopping while it recovers) is handed to node:http before a byte is
 * written, so that the route above answers it as it always has.
 */
async function takeSubscribe(call: FrontCall, master: MasterApi, turns: TurnBudget): Promise<void> {
  const recovering = master.recovered(call);
  if (recovering !== undefined) {
    try {
      await recovering;
    } catch {
      call.handOff();
      return;
    }
  }
  if (!call.isWaiting) return;
  await turns.run(() => {
    // Given to node:http meanwhile by the front (the client sent more): its call now.
    if (!call.isWaiting) return undefined;
    let parsed: AgentCall;
    try {
      parsed = parseAgentCall(parseJsonBody(call.body));
      if (parsed.type !== 'SUBSCRIBE') throw new Error('not a SUBSCRIBE');
      requireAuthorized(master.acls, 'register_agents', undefined, undefined);
    } catch {
      call.handOff();
      return undefined;
    }
    return subscribe(master, parsed, call.remoteAddress, call.respond());
  });
}

function subscribe(
  master: MasterApi,
  call: Extract<AgentCall, { type: 'SUBSCRIBE' }>,
  remoteAddress: string | undefined,
  response: StreamResponse,
): Promise<void> {
  return master.subscribeAgent(
    call.subscribe,
    call.agent_id?.value ?? call.subscribe.agent_info.id?.value,
    (remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
    response,
  );
}

/** One agent call, synchronously up to its answer (a SUBSCRIBE's promise lasts as its stream). */
function handleCall(
  request: Request,
  response: ServerResponse,
  master: MasterApi,
  body: Buffer,
): Promise<void> | undefined {
  const call = parseAgentCall(parseJsonBody(body));
  if (call.type === 'SUBSCRIBE') {
    // Registering and re-registering alike (Mesos' register_agents): a denied agent is
    // refused before the master books anything of it.
    requireAuthorized(master.acls, 'register_agents', request.principal?.value, undefined);
    return subscribe(master, call, request.raw.socket.remoteAddress, response);
  }
  const agent = master.books.agents.get(call.agent_id.value);
  if (agent === undefined) throw new BadRequestError('agent_id', 'Agent cannot be found');
  const streamId = master.agentStreamId(agent);
  if (streamId === undefined) throw new HttpError('FORBIDDEN', 'Agent is not subscribed');
  if (request.headers[STREAM_ID_HEADER] !== streamId)
    throw new BadRequestError('Mesos-Stream-Id', "is not the agent's current stream");
  switch (call.type) {
    case 'PONG':
      master.pong(agent);
      break;
    case 'FILES_RESPONSE':
      master.filesResponse(agent, call.files_response);
      break;
    case 'UPDATE':
      if (call.pong === true) master.pong(agent);
      master.statusUpdate(agent, call.update.framework_id.value, call.update.status);
      break;
    case 'UPDATES':
      if (call.pong === true) master.pong(agent);
      for (const update of call.updates.updates)
        master.statusUpdate(agent, update.framework_id.value, update.status);
      break;
    case 'EXECUTOR_MESSAGE':
      master.executorMessage(
        agent,
        call.executor_message.framework_id.value,
        call.executor_message.executor_id.value,
        call.executor_message.data,
      );
      break;
    case 'EXECUTOR_EXITED':
      master.executorExited(
        agent,
        call.executor_exited.framework_id.value,
        call.executor_exited.executor_id.value,
        call.executor_exited.status,
      );
      break;
    default:
      assertNever(call);
  }
  sendEmpty(response, 202);
  return undefined;
}

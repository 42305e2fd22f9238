// The agent's v1 operator API (POST /api/v1 on the agent; WIRE §6.3): queries
// over its tasks, executors and containers, sandbox files, and the container
// calls `agora task exec` and `agora task attach` use. Calls come as JSON or
// protobuf, replies go out in what Accept chooses, and the streamed calls
// (ATTACH_CONTAINER_INPUT in, LAUNCH_NESTED_CONTAINER_SESSION and
// ATTACH_CONTAINER_OUTPUT out) carry RecordIO of either, as Message-Content-Type
// and Message-Accept say: the same negotiation as the master's (runtime/codec.ts),
// with streaming allowed. Every call is validated (parseAgentOperatorCall)
// before anything runs.
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import {
  APPLICATION_RECORDIO,
  type BodyEncoding,
  decodeCall,
  HttpError,
  type HttpServer,
  listFiles,
  type MediaType,
  messageEncoder,
  readBody,
  readFile,
  replyMediaType,
  requestMediaType,
  requireAuthorized,
  sendEmpty,
  sendMessage,
  visibilityFor,
} from '../runtime/index.js';
import {
  AGORA_VERSION,
  type AgentOperatorCall,
  BadRequestError,
  MESOS_API_VERSION,
  PROTO_MESSAGES,
  parseAgentOperatorCall,
  parseProcessIO,
  RecordIODecoder,
  RecordIOError,
} from '../wire/index.js';
import {
  type AgentView,
  containersOf,
  executorsOf,
  frameworksOf,
  tasksOf,
} from './operator-views.js';
import { ProcessIOStream, type RecordStreamFormat, waitReply } from './session-io.js';

export type { AgentView } from './operator-views.js';

/** The agent API takes streamed requests and answers streamed replies (WIRE §1.4). */
const STREAMING = { isStreamingAllowed: true } as const;

export function routeAgentOperatorApi(http: HttpServer, agent: AgentView): void {
  http.route(['POST'], '/slave(1)/api/v1', async (request, response) => {
    // Mesos' order: Content-Type and Message-Content-Type (400/415), Accept and
    // Message-Accept (406), then the body.
    const content = requestMediaType(request, STREAMING);
    const accept = replyMediaType(request, STREAMING);
    // ATTACH_CONTAINER_INPUT streams its body: a RecordIO of calls, the first naming the container.
    if (content.body === APPLICATION_RECORDIO) {
      if (accept.body === APPLICATION_RECORDIO)
        throw new HttpError(
          'NOT_ACCEPTABLE',
          'Streaming response is not supported for ATTACH_CONTAINER_INPUT call',
        );
      request.streamBody(); // a session's input may idle: no body deadline
      await attachInput(
        agent,
        request.raw,
        request.maxBodyBytes,
        content.records,
        request.principal?.value,
      );
      if (request.raw.complete) sendEmpty(response, 200);
      else {
        // The container's input ended (it exited, or closed it) before the client's stream:
        // the rest is not read, so the connection cannot carry another request.
        response.writeHead(200, { connection: 'close', 'content-length': 0 });
        response.end();
      }
      return;
    }
    const call = parseAgentOperatorCall(
      await decodeCall(content.body, PROTO_MESSAGES.agentCall, await readBody(request)),
    );
    const principal = request.principal?.value;
    if (call.type === 'ATTACH_CONTAINER_INPUT')
      throw new HttpError(
        'UNSUPPORTED_MEDIA_TYPE',
        `Expecting 'Content-Type' to be ${APPLICATION_RECORDIO} for ATTACH_CONTAINER_INPUT call`,
      );
    if (call.type === 'LAUNCH_NESTED_CONTAINER_SESSION') {
      const { container_id, command } = call.launch_nested_container_session;
      if (container_id.parent !== undefined)
        agent.containerAcls.requireLaunch(
          'container_sessions',
          principal,
          container_id.parent,
          command,
        );
      const output = new ProcessIOStream(response, await streamFormat(accept));
      return agent.sessions.launch(container_id, command, output, request.signal);
    }
    if (call.type === 'ATTACH_CONTAINER_OUTPUT') {
      const output = new ProcessIOStream(response, await streamFormat(accept));
      const { container_id } = call.attach_container_output;
      agent.containerAcls.requireOnNested('attach_containers_output', principal, container_id);
      return agent.sessions.attachOutput(container_id, output, request.signal);
    }
    if (accept.body === APPLICATION_RECORDIO)
      throw new HttpError(
        'NOT_ACCEPTABLE',
        `Streaming response is not supported for ${call.type} call`,
      );
    const replies = await messageEncoder(accept.body, PROTO_MESSAGES.agentResponse);
    const visibility = visibilityFor(agent.acls, principal);
    const reply = (type: string, body: unknown) =>
      sendMessage(response, 200, replies, { type, [type.toLowerCase()]: body });
    switch (call.type) {
      case 'GET_HEALTH':
        return reply('GET_HEALTH', { healthy: true });
      case 'GET_FLAGS':
        requireAuthorized(agent.acls, 'view_flags', principal, undefined);
        return reply('GET_FLAGS', {
          flags: Object.entries(agent.flags).map(([name, value]) => ({ name, value })),
        });
      case 'GET_VERSION':
        return reply('GET_VERSION', {
          version_info: { version: MESOS_API_VERSION, build_user: `agora ${AGORA_VERSION}` },
        });
      case 'GET_METRICS':
        return reply('GET_METRICS', {
          metrics: Object.entries(agent.metrics()).map(([name, value]) => ({ name, value })),
        });
      case 'GET_LOGGING_LEVEL':
        return reply('GET_LOGGING_LEVEL', { level: 0 });
      case 'SET_LOGGING_LEVEL':
        requireAuthorized(agent.acls, 'set_log_level', principal, undefined);
        return sendEmpty(response, 200);
      case 'LIST_FILES':
        return reply(
          'LIST_FILES',
          await listFiles(agent.files.openerFor(request.principal?.value), call.list_files.path),
        );
      case 'READ_FILE': {
        const { path, offset, length } = call.read_file;
        return reply(
          'READ_FILE',
          await readFile(agent.files.openerFor(request.principal?.value), path, offset, length),
        );
      }
      case 'GET_STATE':
        return reply('GET_STATE', {
          get_tasks: tasksOf(agent, visibility),
          get_executors: executorsOf(agent, visibility),
          get_frameworks: frameworksOf(agent, visibility),
        });
      case 'GET_TASKS':
        return reply('GET_TASKS', tasksOf(agent, visibility));
      case 'GET_EXECUTORS':
        return reply('GET_EXECUTORS', executorsOf(agent, visibility));
      case 'GET_FRAMEWORKS':
        return reply('GET_FRAMEWORKS', frameworksOf(agent, visibility));
      case 'GET_AGENT': {
        const info = agent.agentInfo();
        return reply('GET_AGENT', info === undefined ? {} : { agent_info: info });
      }
      case 'GET_CONTAINERS':
        return reply('GET_CONTAINERS', containersOf(agent, call.get_containers, principal));
      case 'GET_OPERATIONS':
        return reply('GET_OPERATIONS', { operations: [] });
      case 'GET_RESOURCE_PROVIDERS':
        return reply('GET_RESOURCE_PROVIDERS', { resource_providers: [] });
      case 'LAUNCH_CONTAINER':
      case 'LAUNCH_NESTED_CONTAINER': {
        const [field, body] =
          call.type === 'LAUNCH_CONTAINER'
            ? (['launch_container', call.launch_container] as const)
            : (['launch_nested_container', call.launch_nested_container] as const);
        const { parent } = body.container_id;
        if (parent !== undefined)
          agent.containerAcls.requireLaunch('containers', principal, parent, body.command);
        const outcome =
          parent === undefined && call.type === 'LAUNCH_CONTAINER'
            ? await agent.standalone.launch(body, field, principal)
            : await agent.sessions.launchDetached(body.container_id, body.command, field);
        return sendEmpty(response, outcome === 'launched' ? 200 : 202);
      }
      case 'WAIT_CONTAINER':
      case 'WAIT_NESTED_CONTAINER': {
        const id =
          call.type === 'WAIT_CONTAINER'
            ? call.wait_container.container_id
            : call.wait_nested_container.container_id;
        if (call.type === 'WAIT_CONTAINER' && agent.standalone.has(id))
          return reply('WAIT_CONTAINER', waitReply(await agent.standalone.wait(id, principal)));
        agent.containerAcls.requireOnNested('wait_nested_containers', principal, id);
        return reply(call.type, await agent.sessions.wait(id));
      }
      case 'KILL_CONTAINER':
      case 'KILL_NESTED_CONTAINER': {
        const { container_id, signal } =
          call.type === 'KILL_CONTAINER' ? call.kill_container : call.kill_nested_container;
        if (agent.standalone.has(container_id)) {
          agent.standalone.authorize('kill_standalone_containers', principal);
          agent.standalone.kill(container_id, signalName(signal ?? 9));
        } else {
          agent.containerAcls.requireOnNested('kill_nested_containers', principal, container_id);
          agent.sessions.kill(container_id, signalName(signal ?? 9));
        }
        return sendEmpty(response, 200);
      }
      case 'REMOVE_CONTAINER':
      case 'REMOVE_NESTED_CONTAINER': {
        const id =
          call.type === 'REMOVE_CONTAINER'
            ? call.remove_container.container_id
            : call.remove_nested_container.container_id;
        if (call.type === 'REMOVE_CONTAINER' && agent.standalone.has(id)) {
          agent.standalone.authorize('remove_standalone_containers', principal);
          agent.standalone.remove(id);
          return sendEmpty(response, 200);
        }
        agent.containerAcls.requireOnNested('remove_nested_containers', principal, id);
        await agent.sessions.remove(id);
        return sendEmpty(response, 200);
      }
      default:
        throw new HttpError(
          'NOT_IMPLEMENTED',
          `${(call as { type: string }).type} is not implemented`,
        );
    }
  });
}

/**
 * A streamed reply's framing from what replyMediaType chose: `application/recordio` with
 * its records as Message-Accept allows, or, for a client that asked for plain JSON or
 * protobuf (or nothing), RecordIO of that under its own Content-Type, as Mesos answers.
 */
async function streamFormat(accept: BodyEncoding): Promise<RecordStreamFormat> {
  const records = accept.body === APPLICATION_RECORDIO ? accept.records : accept.body;
  const encoder = await messageEncoder(records, PROTO_MESSAGES.agentProcessIO, { isStream: true });
  return {
    headers:
      accept.body === APPLICATION_RECORDIO
        ? { 'content-type': APPLICATION_RECORDIO, 'message-content-type': records }
        : { 'content-type': records },
    records: encoder,
  };
}

/**
 * ATTACH_CONTAINER_INPUT: the first record names the container, each later one
 * is input, fed to it as it arrives (an interactive `agora task exec`). Records
 * are calls in `records`' encoding (Message-Content-Type). A stream that is not
 * RecordIO of such calls is the client's mistake (400), and so is a first record
 * of another call (415, as Mesos answers a streamed request of any other call);
 * each record is bounded by `--max_request_body`, as a body is.
 */
async function attachInput(
  agent: AgentView,
  body: Readable,
  maxRecordBytes: number,
  records: MediaType,
  principal: string | undefined,
): Promise<void> {
  const decoder = new RecordIODecoder(maxRecordBytes);
  // Not destroyed when left early: the error's answer then drains the rest of the body
  // (an iterator still attached would keep `resume()` from doing so, and the client
  // would wait forever for its answer).
  const iterator = body.iterator({ destroyOnReturn: false });
  const pending: Buffer[] = [];
  /** The next record of the body, or undefined at its end. */
  const nextRecord = async (): Promise<Buffer | undefined> => {
    while (pending.length === 0) {
      const next = await iterator.next();
      if (next.done === true) {
        if (!decoder.isIdle)
          throw new BadRequestError('', 'the stream ended in the middle of a record');
        return undefined;
      }
      try {
        pending.push(...decoder.decode(next.value as Buffer));
      } catch (error) {
        if (error instanceof RecordIOError)
          throw new BadRequestError('', `not a RecordIO stream: ${error.message}`, {
            cause: error,
          });
        throw error;
      }
    }
    return pending.shift();
  };
  const parse = async (record: Buffer): Promise<AgentOperatorCall> =>
    parseAgentOperatorCall(await decodeCall(records, PROTO_MESSAGES.agentCall, record));
  try {
    const firstRecord = await nextRecord();
    if (firstRecord === undefined)
      throw new BadRequestError('', 'Received EOF while reading request body');
    const first = await parse(firstRecord);
    if (first.type !== 'ATTACH_CONTAINER_INPUT')
      throw new HttpError(
        'UNSUPPORTED_MEDIA_TYPE',
        `Streaming 'Content-Type' ${APPLICATION_RECORDIO} is not supported for ${first.type} call`,
      );
    if (first.attach_container_input.container_id === undefined)
      throw new BadRequestError(
        'attach_container_input.container_id',
        'the first record must name the container',
      );
    agent.containerAcls.requireOnNested(
      'attach_containers_input',
      principal,
      first.attach_container_input.container_id,
    );
    await agent.sessions.attachInput(
      first.attach_container_input.container_id,
      (async function* () {
        for (let record = await nextRecord(); record !== undefined; record = await nextRecord()) {
          const call = await parse(record);
          const io =
            call.type === 'ATTACH_CONTAINER_INPUT'
              ? call.attach_container_input.process_io
              : undefined;
          if (io !== undefined) yield parseProcessIO(io);
        }
      })(),
    );
  } finally {
    await iterator.return?.();
  }
}

function signalName(signal: number): NodeJS.Signals {
  const name = Object.entries(constants.signals).find(([, n]) => n === signal)?.[0];
  if (name === undefined)
    throw new HttpError('BAD_REQUEST', `kill_container.signal: unknown signal ${signal}`);
  return name as NodeJS.Signals;
}

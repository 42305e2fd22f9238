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
import type { ResourceStatistics } from '../containerizer/index.js';
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
  sendEmpty,
  sendMessage,
} from '../runtime/index.js';
import {
  AGORA_VERSION,
  type AgentInfo,
  type AgentOperatorCall,
  BadRequestError,
  type ExecutorInfo,
  type FrameworkInfo,
  isTerminalState,
  MESOS_API_VERSION,
  agentId as mintAgentId,
  containerId as mintContainerId,
  executorId as mintExecutorId,
  PROTO_MESSAGES,
  parseAgentOperatorCall,
  parseProcessIO,
  RecordIODecoder,
  RecordIOError,
  type Task,
} from '../wire/index.js';
import type { Executors, ExecutorTask } from './executors.js';
import type { SandboxFiles } from './files.js';
import { ProcessIOStream, type RecordStreamFormat, waitReply } from './session-io.js';
import type { ContainerSessions } from './sessions.js';
import type { StandaloneContainers } from './standalone.js';
import type { TaskRun, TaskRuns } from './task-runs.js';

/** The agent API takes streamed requests and answers streamed replies (WIRE §1.4). */
const STREAMING = { isStreamingAllowed: true } as const;

/** What the handlers read off the agent. */
export interface AgentView {
  readonly runs: TaskRuns;
  readonly executors: Executors;
  readonly files: SandboxFiles;
  readonly sessions: ContainerSessions;
  readonly standalone: StandaloneContainers;
  readonly flags: Readonly<Record<string, string>>;
  agentId(): string | undefined;
  agentInfo(): AgentInfo | undefined;
  metrics(): Record<string, number>;
}

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
      await attachInput(agent, request.raw, request.maxBodyBytes, content.records);
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
      const output = new ProcessIOStream(response, await streamFormat(accept));
      return agent.sessions.launch(container_id, command, output, request.signal);
    }
    if (call.type === 'ATTACH_CONTAINER_OUTPUT') {
      const output = new ProcessIOStream(response, await streamFormat(accept));
      const { container_id } = call.attach_container_output;
      return agent.sessions.attachOutput(container_id, output, request.signal);
    }
    if (accept.body === APPLICATION_RECORDIO)
      throw new HttpError(
        'NOT_ACCEPTABLE',
        `Streaming response is not supported for ${call.type} call`,
      );
    const replies = await messageEncoder(accept.body, PROTO_MESSAGES.agentResponse);
    const reply = (type: string, body: unknown) =>
      sendMessage(response, 200, replies, { type, [type.toLowerCase()]: body });
    switch (call.type) {
      case 'GET_HEALTH':
        return reply('GET_HEALTH', { healthy: true });
      case 'GET_FLAGS':
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
          get_tasks: tasksOf(agent),
          get_executors: executorsOf(agent),
          get_frameworks: frameworksOf(agent),
        });
      case 'GET_TASKS':
        return reply('GET_TASKS', tasksOf(agent));
      case 'GET_EXECUTORS':
        return reply('GET_EXECUTORS', executorsOf(agent));
      case 'GET_FRAMEWORKS':
        return reply('GET_FRAMEWORKS', frameworksOf(agent));
      case 'GET_AGENT': {
        const info = agent.agentInfo();
        return reply('GET_AGENT', info === undefined ? {} : { agent_info: info });
      }
      case 'GET_CONTAINERS':
        return reply('GET_CONTAINERS', {
          containers: [
            ...agent.runs.usage().map(({ run, statistics }) => ({
              framework_id: run.frameworkId,
              executor_id: mintExecutorId(run.address.executorIdValue),
              executor_name: executorName(run),
              container_id: mintContainerId(run.containerIdValue),
              container_status: {
                container_id: mintContainerId(run.containerIdValue),
                ...(run.container !== undefined && run.container.pid > 0
                  ? { executor_pid: run.container.pid }
                  : {}),
              },
              resource_statistics: v1Statistics(statistics),
            })),
            // Nested ones only when asked for, as Mesos lists them: their id and status.
            ...(call.get_containers?.show_nested === true
              ? agent.sessions.running().map(({ id, pid }) => ({
                  container_id: id,
                  container_status: {
                    container_id: id,
                    ...(pid !== undefined ? { executor_pid: pid } : {}),
                  },
                }))
              : []),
            // Standalone ones only when asked for (show_standalone), as Mesos lists them.
            ...(call.get_containers?.show_standalone === true && agent.standalone.mayView(principal)
              ? agent.standalone.running().map(({ idValue, pid }) => ({
                  container_id: mintContainerId(idValue),
                  container_status: {
                    container_id: mintContainerId(idValue),
                    ...(pid > 0 ? { executor_pid: pid } : {}),
                  },
                }))
              : []),
          ],
        });
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
        const outcome =
          body.container_id.parent === undefined && call.type === 'LAUNCH_CONTAINER'
            ? await agent.standalone.launch(body, field, principal)
            : await agent.sessions.launchDetached(body.container_id, body.command, field);
        return sendEmpty(response, outcome === 'launched' ? 200 : 202);
      }
      case 'WAIT_CONTAINER': {
        const id = call.wait_container.container_id;
        return reply(
          'WAIT_CONTAINER',
          agent.standalone.has(id)
            ? waitReply(await agent.standalone.wait(id, principal))
            : await agent.sessions.wait(id),
        );
      }
      case 'WAIT_NESTED_CONTAINER':
        return reply(
          'WAIT_NESTED_CONTAINER',
          await agent.sessions.wait(call.wait_nested_container.container_id),
        );
      case 'KILL_CONTAINER':
      case 'KILL_NESTED_CONTAINER': {
        const { container_id, signal } =
          call.type === 'KILL_CONTAINER' ? call.kill_container : call.kill_nested_container;
        if (agent.standalone.has(container_id)) {
          agent.standalone.authorize('kill_standalone_containers', principal);
          agent.standalone.kill(container_id, signalName(signal ?? 9));
        } else agent.sessions.kill(container_id, signalName(signal ?? 9));
        return sendEmpty(response, 200);
      }
      case 'REMOVE_CONTAINER':
      case 'REMOVE_NESTED_CONTAINER':
        if (
          call.type === 'REMOVE_CONTAINER' &&
          agent.standalone.has(call.remove_container.container_id)
        ) {
          agent.standalone.authorize('remove_standalone_containers', principal);
          agent.standalone.remove(call.remove_container.container_id);
          return sendEmpty(response, 200);
        }
        await agent.sessions.remove(
          call.type === 'REMOVE_CONTAINER'
            ? call.remove_container.container_id
            : call.remove_nested_container.container_id,
        );
        return sendEmpty(response, 200);
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

/**
 * Usage as v1's ResourceStatistics has it: without the peak memory that Agora adds to
 * /monitor/statistics, a field v1 does not define (a protobuf client could never see it,
 * and the JSON reply says what the protobuf one says).
 */
function v1Statistics(
  statistics: ResourceStatistics,
): Omit<ResourceStatistics, 'mem_max_total_bytes'> {
  const { mem_max_total_bytes: _peak, ...v1 } = statistics;
  return v1;
}

function executorName(run: TaskRun): string {
  return `Command Executor (Task: ${run.task.task_id.value})`;
}

/** The command executor the agent stands in for, as Mesos describes it. */
function executorInfo(run: TaskRun): ExecutorInfo {
  return {
    type: 'DEFAULT',
    executor_id: mintExecutorId(run.address.executorIdValue),
    framework_id: run.frameworkId,
    name: executorName(run),
    command: run.task.command ?? {},
  };
}

function taskOf(run: TaskRun, agentIdValue: string): Task {
  return {
    name: run.task.name,
    task_id: run.task.task_id,
    framework_id: run.frameworkId,
    executor_id: mintExecutorId(run.address.executorIdValue),
    agent_id: mintAgentId(agentIdValue),
    state: run.state,
    resources: run.task.resources ?? [],
    statuses: [],
  } as Task;
}

/** A task of a custom executor, as GET_TASKS lists it. */
function customTaskOf(task: ExecutorTask, agentIdValue: string): Task {
  return {
    name: task.task.name,
    task_id: task.task.task_id,
    framework_id: task.frameworkId,
    executor_id: mintExecutorId(task.address.executorIdValue),
    agent_id: mintAgentId(agentIdValue),
    state: task.state,
    resources: task.task.resources ?? [],
    statuses: [],
  } as Task;
}

function tasksOf(agent: AgentView) {
  const agentIdValue = agent.agentId() ?? '';
  const active = agent.runs.active;
  const custom = agent.executors.active.flatMap((run) => [...run.tasks.values()]);
  return {
    pending_tasks: [],
    queued_tasks: custom
      .filter((task) => task.state === 'TASK_STAGING' && !task.isDelivered)
      .map((task) => customTaskOf(task, agentIdValue)),
    launched_tasks: [
      ...active
        .filter((run) => !isTerminalState(run.state))
        .map((run) => taskOf(run, agentIdValue)),
      ...custom
        .filter((task) => !isTerminalState(task.state) && task.isDelivered)
        .map((task) => customTaskOf(task, agentIdValue)),
    ],
    terminated_tasks: [
      ...active.filter((run) => isTerminalState(run.state)).map((run) => taskOf(run, agentIdValue)),
      ...custom
        .filter((task) => isTerminalState(task.state))
        .map((task) => customTaskOf(task, agentIdValue)),
    ],
    completed_tasks: [
      ...agent.runs.finished.map((run) => taskOf(run, agentIdValue)),
      ...agent.executors.finished.map(({ task }) => customTaskOf(task, agentIdValue)),
    ],
  };
}

function executorsOf(agent: AgentView) {
  const custom = agent.executors.active.map((run) => ({
    executor_info: { ...run.info, framework_id: run.frameworkId },
    isDone: run.phase === 'terminated',
  }));
  return {
    executors: [
      ...agent.runs.active
        .filter((run) => !isTerminalState(run.state))
        .map((run) => ({ executor_info: executorInfo(run) })),
      ...custom.filter((e) => !e.isDone).map(({ executor_info }) => ({ executor_info })),
    ],
    completed_executors: [
      ...[
        ...agent.runs.active.filter((run) => isTerminalState(run.state)),
        ...agent.runs.finished,
      ].map((run) => ({ executor_info: executorInfo(run) })),
      ...custom.filter((e) => e.isDone).map(({ executor_info }) => ({ executor_info })),
    ],
  };
}

function frameworksOf(agent: AgentView) {
  const active = new Map<string, FrameworkInfo>();
  for (const run of agent.runs.active) active.set(run.frameworkId.value, run.frameworkInfo);
  const completed = new Map<string, FrameworkInfo>();
  for (const run of agent.runs.finished)
    if (!active.has(run.frameworkId.value)) completed.set(run.frameworkId.value, run.frameworkInfo);
  return {
    frameworks: [...active.values()].map((framework_info) => ({ framework_info })),
    completed_frameworks: [...completed.values()].map((framework_info) => ({ framework_info })),
  };
}

function signalName(signal: number): NodeJS.Signals {
  const name = Object.entries(constants.signals).find(([, n]) => n === signal)?.[0];
  if (name === undefined)
    throw new HttpError('BAD_REQUEST', `kill_container.signal: unknown signal ${signal}`);
  return name as NodeJS.Signals;
}

// The agent's v1 operator API (POST /api/v1 on the agent; WIRE §6.3): queries
// over its tasks, executors and containers, sandbox files, and the container
// calls `agora task exec` and `agora task attach` use. Every call is validated
// (parseAgentOperatorCall) before anything runs.
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import {
  HttpError,
  type HttpServer,
  listFiles,
  parseJsonBody,
  readFile,
  readJsonBody,
  requireJsonAccepted,
  sendEmpty,
  sendJson,
} from '../runtime/index.js';
import {
  AGORA_VERSION,
  type AgentInfo,
  BadRequestError,
  type ExecutorInfo,
  type FrameworkInfo,
  isTerminalState,
  MESOS_API_VERSION,
  agentId as mintAgentId,
  containerId as mintContainerId,
  executorId as mintExecutorId,
  parseAgentOperatorCall,
  parseProcessIO,
  RecordIODecoder,
  RecordIOError,
  type Task,
} from '../wire/index.js';
import type { Executors, ExecutorTask } from './executors.js';
import type { SandboxFiles } from './files.js';
import type { ContainerSessions } from './sessions.js';
import type { TaskRun, TaskRuns } from './task-runs.js';

/** What the handlers read off the agent. */
export interface AgentView {
  readonly runs: TaskRuns;
  readonly executors: Executors;
  readonly files: SandboxFiles;
  readonly sessions: ContainerSessions;
  readonly flags: Readonly<Record<string, string>>;
  agentId(): string | undefined;
  agentInfo(): AgentInfo | undefined;
  metrics(): Record<string, number>;
}

export function routeAgentOperatorApi(http: HttpServer, agent: AgentView): void {
  http.route(['POST'], '/slave(1)/api/v1', async (request, response) => {
    // ATTACH_CONTAINER_INPUT streams its body: a RecordIO of calls, the first naming the container.
    if (isRecordIo(request.headers['content-type'])) {
      request.streamBody(); // a session's input may idle: no body deadline
      await attachInput(agent, request.raw, request.maxBodyBytes);
      if (request.raw.complete) sendEmpty(response, 200);
      else {
        // The container's input ended (it exited, or closed it) before the client's stream:
        // the rest is not read, so the connection cannot carry another request.
        response.writeHead(200, { connection: 'close', 'content-length': 0 });
        response.end();
      }
      return;
    }
    const call = parseAgentOperatorCall(await readJsonBody(request));
    // The streaming calls answer in RecordIO (of JSON records), as Mesos' do.
    if (call.type !== 'LAUNCH_NESTED_CONTAINER_SESSION' && call.type !== 'ATTACH_CONTAINER_OUTPUT')
      requireJsonAccepted(request);
    const reply = (type: string, body: unknown) =>
      sendJson(response, 200, { type, [type.toLowerCase()]: body });
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
              resource_statistics: statistics,
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
          ],
        });
      case 'GET_OPERATIONS':
        return reply('GET_OPERATIONS', { operations: [] });
      case 'GET_RESOURCE_PROVIDERS':
        return reply('GET_RESOURCE_PROVIDERS', { resource_providers: [] });
      case 'LAUNCH_NESTED_CONTAINER_SESSION': {
        const { container_id, command } = call.launch_nested_container_session;
        return agent.sessions.launch(container_id, command, response, request.signal);
      }
      case 'ATTACH_CONTAINER_OUTPUT':
        return agent.sessions.attachOutput(
          call.attach_container_output.container_id,
          response,
          request.signal,
        );
      case 'ATTACH_CONTAINER_INPUT':
        // A single JSON call has no input to give: the stream form is handled above.
        return sendEmpty(response, 200);
      case 'LAUNCH_CONTAINER':
      case 'LAUNCH_NESTED_CONTAINER': {
        const [field, body] =
          call.type === 'LAUNCH_CONTAINER'
            ? (['launch_container', call.launch_container] as const)
            : (['launch_nested_container', call.launch_nested_container] as const);
        const outcome = await agent.sessions.launchDetached(body.container_id, body.command, field);
        return sendEmpty(response, outcome === 'launched' ? 200 : 202);
      }
      case 'WAIT_CONTAINER':
        return reply('WAIT_CONTAINER', await agent.sessions.wait(call.wait_container.container_id));
      case 'WAIT_NESTED_CONTAINER':
        return reply(
          'WAIT_NESTED_CONTAINER',
          await agent.sessions.wait(call.wait_nested_container.container_id),
        );
      case 'KILL_CONTAINER':
      case 'KILL_NESTED_CONTAINER': {
        const { container_id, signal } =
          call.type === 'KILL_CONTAINER' ? call.kill_container : call.kill_nested_container;
        agent.sessions.kill(container_id, signalName(signal ?? 9));
        return sendEmpty(response, 200);
      }
      case 'REMOVE_CONTAINER':
      case 'REMOVE_NESTED_CONTAINER':
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

function isRecordIo(contentType: string | undefined): boolean {
  return contentType?.split(';')[0]?.trim().toLowerCase() === 'application/recordio';
}

/**
 * ATTACH_CONTAINER_INPUT: the first record names the container, each later one
 * is input, fed to it as it arrives (an interactive `agora task exec`). A stream
 * that is not RecordIO of JSON calls is the client's mistake (400); each record
 * is bounded by `--max_request_body`, as a body is.
 */
async function attachInput(
  agent: AgentView,
  body: Readable,
  maxRecordBytes: number,
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
  const parse = (record: Buffer) => parseAgentOperatorCall(parseJsonBody(record));
  try {
    const firstRecord = await nextRecord();
    const first = firstRecord === undefined ? undefined : parse(firstRecord);
    if (
      first?.type !== 'ATTACH_CONTAINER_INPUT' ||
      first.attach_container_input.container_id === undefined
    )
      throw new BadRequestError(
        '',
        'the first record must be ATTACH_CONTAINER_INPUT naming a container',
      );
    await agent.sessions.attachInput(
      first.attach_container_input.container_id,
      (async function* () {
        for (let record = await nextRecord(); record !== undefined; record = await nextRecord()) {
          const call = parse(record);
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

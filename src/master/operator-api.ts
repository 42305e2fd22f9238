// POST /api/v1: the v1 operator API (WIRE §6.1). Calls not served yet answer 501.
import { z } from 'zod';
import {
  HttpError,
  type HttpServer,
  readJsonBody,
  requireJsonAccepted,
  sendEmpty,
  sendJson,
} from '../runtime/index.js';
import { AGORA_VERSION, BadRequestError, MESOS_API_VERSION, parseWith } from '../wire/index.js';
import type { Master } from './master.js';
import { v1Agents, v1Frameworks, v1Tasks } from './render.js';

const MASTER_CALL_TYPES = [
  'GET_HEALTH',
  'GET_FLAGS',
  'GET_VERSION',
  'GET_METRICS',
  'GET_LOGGING_LEVEL',
  'SET_LOGGING_LEVEL',
  'LIST_FILES',
  'READ_FILE',
  'GET_STATE',
  'GET_AGENTS',
  'GET_FRAMEWORKS',
  'GET_EXECUTORS',
  'GET_OPERATIONS',
  'GET_TASKS',
  'GET_ROLES',
  'GET_WEIGHTS',
  'UPDATE_WEIGHTS',
  'GET_MASTER',
  'SUBSCRIBE',
  'RESERVE_RESOURCES',
  'UNRESERVE_RESOURCES',
  'CREATE_VOLUMES',
  'DESTROY_VOLUMES',
  'GROW_VOLUME',
  'SHRINK_VOLUME',
  'GET_MAINTENANCE_STATUS',
  'GET_MAINTENANCE_SCHEDULE',
  'UPDATE_MAINTENANCE_SCHEDULE',
  'START_MAINTENANCE',
  'STOP_MAINTENANCE',
  'DRAIN_AGENT',
  'DEACTIVATE_AGENT',
  'REACTIVATE_AGENT',
  'GET_QUOTA',
  'UPDATE_QUOTA',
  'SET_QUOTA',
  'REMOVE_QUOTA',
  'TEARDOWN',
  'MARK_AGENT_GONE',
] as const;

const OperatorCallSchema = z.object({
  type: z.enum(MASTER_CALL_TYPES, {
    error: (issue) =>
      issue.input === undefined ? 'required' : `unknown call type ${JSON.stringify(issue.input)}`,
  }),
  teardown: z.object({ framework_id: z.object({ value: z.string().min(1) }) }).optional(),
});

export function routeOperatorApi(http: HttpServer, master: Master): void {
  http.route(['POST'], '/master/api/v1', async (request, response) => {
    const call = parseWith(OperatorCallSchema, await readJsonBody(request));
    requireJsonAccepted(request);
    const reply = (type: string, body: unknown) => {
      const key = type.toLowerCase();
      sendJson(response, 200, body === undefined ? { type } : { type, [key]: body });
    };
    const { books } = master;
    switch (call.type) {
      case 'GET_HEALTH':
        return reply('GET_HEALTH', { healthy: true });
      case 'GET_VERSION':
        return reply('GET_VERSION', {
          version_info: { version: MESOS_API_VERSION, build_user: `agora ${AGORA_VERSION}` },
        });
      case 'GET_FLAGS':
        return reply('GET_FLAGS', {
          flags: Object.entries(master.options.flags ?? {}).map(([name, value]) => ({
            name,
            value,
          })),
        });
      case 'GET_METRICS':
        return reply('GET_METRICS', {
          metrics: Object.entries(master.snapshotMetrics()).map(([name, value]) => ({
            name,
            value,
          })),
        });
      case 'GET_MASTER':
        return reply('GET_MASTER', {
          master_info: master.masterInfo,
          start_time: master.startTimeSec,
          elected_time: master.startTimeSec,
        });
      case 'GET_AGENTS':
        return reply('GET_AGENTS', v1Agents(books));
      case 'GET_FRAMEWORKS':
        return reply('GET_FRAMEWORKS', v1Frameworks(books));
      case 'GET_TASKS':
        return reply('GET_TASKS', v1Tasks(books));
      case 'GET_STATE':
        return reply('GET_STATE', {
          get_tasks: v1Tasks(books),
          get_executors: { executors: [], completed_executors: [] },
          get_frameworks: v1Frameworks(books),
          get_agents: v1Agents(books),
        });
      case 'TEARDOWN': {
        const id = call.teardown?.framework_id.value;
        if (id === undefined) throw new BadRequestError('teardown', 'required for a TEARDOWN call');
        const framework = books.frameworks.get(id);
        if (framework === undefined)
          throw new BadRequestError('teardown.framework_id', `no framework with id '${id}'`);
        master.removeFramework(framework, 'operator TEARDOWN');
        return sendEmpty(response, 200);
      }
      default:
        throw new HttpError('NOT_IMPLEMENTED', `${call.type} is not implemented yet`);
    }
  });
}

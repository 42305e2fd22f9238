// POST /api/v1: the v1 operator API (WIRE §6.1). Calls not served yet answer 501.
import {
  HttpError,
  type HttpServer,
  readJsonBody,
  requireJsonAccepted,
  sendEmpty,
  sendJson,
} from '../../runtime/index.js';
import { BadRequestError, parseMasterCall } from '../../wire/index.js';
import type { MasterQueries, OperatorCommands } from '../api.js';
import { validateQuotaUpdate, validateWeights } from '../core/quota.js';
import { listFiles, readFile } from './operator-files.js';
import { removeQuota, setQuota } from './quota-requests.js';
import {
  quotaStatus,
  v1Agents,
  v1Executors,
  v1Frameworks,
  v1Roles,
  v1State,
  v1Tasks,
  versionInfo,
} from './render.js';

export function routeOperatorApi(http: HttpServer, master: MasterQueries & OperatorCommands): void {
  http.route(['POST'], '/master/api/v1', async (request, response) => {
    const call = parseMasterCall(await readJsonBody(request));
    requireJsonAccepted(request);
    const reply = (type: string, body: unknown) => {
      const key = type.toLowerCase();
      sendJson(response, 200, body === undefined ? { type } : { type, [key]: body });
    };
    const { books } = master;
    const principal = request.principal?.value;
    switch (call.type) {
      case 'GET_HEALTH':
        return reply('GET_HEALTH', { healthy: true });
      case 'GET_VERSION':
        return reply('GET_VERSION', { version_info: versionInfo() });
      case 'GET_FLAGS':
        return reply('GET_FLAGS', {
          flags: Object.entries(master.flags).map(([name, value]) => ({
            name,
            value,
          })),
        });
      case 'GET_METRICS':
        // `get_metrics.timeout` bounds how long Mesos waits for metrics that are computed
        // elsewhere (it leaves out those that miss it). Every metric here is read at once
        // from the master's own books, so none can miss it: the timeout bounds nothing.
        return reply('GET_METRICS', {
          metrics: Object.entries(master.snapshotMetrics()).map(([name, value]) => ({
            name,
            value,
          })),
        });
      case 'GET_MASTER':
        return reply('GET_MASTER', {
          master_info: master.masterInfo(),
          start_time: master.startTimeSec,
          elected_time: master.startTimeSec,
        });
      case 'GET_LOGGING_LEVEL':
        return reply('GET_LOGGING_LEVEL', { level: master.loggingLevel() });
      case 'SET_LOGGING_LEVEL':
        master.setLoggingLevel(
          call.set_logging_level.level,
          call.set_logging_level.duration.nanoseconds / 1e6,
        );
        return sendEmpty(response, 200);
      case 'LIST_FILES':
        return reply('LIST_FILES', await listFiles(master.openFile, call.list_files.path));
      case 'READ_FILE': {
        const { path, offset, length } = call.read_file;
        return reply('READ_FILE', await readFile(master.openFile, path, offset, length));
      }
      case 'GET_EXECUTORS':
        return reply('GET_EXECUTORS', v1Executors(books));
      case 'GET_OPERATIONS':
        return reply('GET_OPERATIONS', { operations: master.operations() });
      case 'GET_AGENTS':
        return reply('GET_AGENTS', v1Agents(books));
      case 'GET_FRAMEWORKS':
        return reply('GET_FRAMEWORKS', v1Frameworks(books));
      case 'GET_TASKS':
        return reply('GET_TASKS', v1Tasks(books));
      case 'GET_STATE':
        return reply('GET_STATE', v1State(books));
      case 'SUBSCRIBE':
        return master.subscribeOperator(response, request.signal);
      case 'GET_ROLES':
        return reply('GET_ROLES', { roles: v1Roles(master.roleBreakdowns()) });
      case 'GET_WEIGHTS':
        return reply('GET_WEIGHTS', {
          weight_infos: [...master.weights].map(([role, weight]) => ({ weight, role })),
        });
      case 'UPDATE_WEIGHTS':
        await master.updateWeights(validateWeights(call.update_weights?.weight_infos ?? []));
        return sendEmpty(response, 200);
      case 'GET_QUOTA':
        return reply('GET_QUOTA', { status: quotaStatus(master.quotas) });
      case 'UPDATE_QUOTA': {
        const update = call.update_quota;
        if (update === undefined) return;
        await master.updateQuota(
          validateQuotaUpdate(update.quota_configs, update.force ?? false, master.quotaContext()),
        );
        return sendEmpty(response, 200);
      }
      case 'SET_QUOTA':
        await setQuota(master, call.set_quota.quota_request, 'set_quota.quota_request');
        return sendEmpty(response, 200);
      case 'REMOVE_QUOTA':
        await removeQuota(master, call.remove_quota.role, 'remove_quota.role');
        return sendEmpty(response, 200);
      case 'RESERVE_RESOURCES': {
        const body = call.reserve_resources;
        if (body === undefined) return;
        master.changeReservations(body.agent_id.value, 'reserve', body.resources, principal);
        return sendEmpty(response, 202);
      }
      case 'UNRESERVE_RESOURCES': {
        const body = call.unreserve_resources;
        if (body === undefined) return;
        master.changeReservations(body.agent_id.value, 'unreserve', body.resources, principal);
        return sendEmpty(response, 202);
      }
      case 'TEARDOWN': {
        const id = call.teardown?.framework_id;
        if (id === undefined) throw new BadRequestError('teardown', 'required for a TEARDOWN call');
        if (!master.teardownFramework(id))
          throw new BadRequestError('teardown.framework_id', `no framework with id '${id.value}'`);
        return sendEmpty(response, 200);
      }
      default:
        throw new HttpError('NOT_IMPLEMENTED', `${call.type} is not implemented yet`);
    }
  });
}

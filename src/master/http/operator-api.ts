// POST /api/v1: the v1 operator API (WIRE §6.1), every call of master.proto.
// Calls come as JSON or protobuf; replies and the SUBSCRIBE stream go out in what
// Accept chooses (runtime/codec.ts), checked before any call runs.
import {
  APPLICATION_JSON,
  apiRoute,
  type HttpServer,
  listFiles,
  readFile,
  streamJson,
  streamProtobuf,
} from '../../runtime/index.js';
import { assertNever, BadRequestError, PROTO_MESSAGES, parseMasterCall } from '../../wire/index.js';
import type { MasterQueries, OperatorCommands } from '../api.js';
import { validateQuotaUpdate, validateWeights } from '../core/quota.js';
import { shownMaintenanceStatus, shownQuotas, shownRoles, shownSchedule } from './acl-views.js';
import { authorizeCall } from './call-authorization.js';
import { removeQuota, setQuota } from './quota-requests.js';
import {
  eagerList,
  type ListMaker,
  maintenanceStatus,
  quotaStatus,
  streamedList,
  versionInfo,
} from './render.js';
import {
  v1Agents,
  v1Executors,
  v1Frameworks,
  v1Operations,
  v1Roles,
  v1State,
  v1Tasks,
} from './render-v1.js';
import {
  filterV1,
  filterV1Executors,
  filterV1Frameworks,
  filterV1Tasks,
  frameworkUsers,
  type Visibility,
  visibilityFor,
} from './view-filter.js';

export function routeOperatorApi(http: HttpServer, master: MasterQueries & OperatorCommands): void {
  const messages = {
    call: PROTO_MESSAGES.masterCall,
    reply: PROTO_MESSAGES.masterResponse,
    event: PROTO_MESSAGES.masterEvent,
  };
  http.route(
    ['POST'],
    '/master/api/v1',
    apiRoute({ messages, parse: parseMasterCall }, async (call, exchange, request, response) => {
      const reply = (type: string, body: unknown) =>
        exchange.reply(200, body === undefined ? { type } : { type, [type.toLowerCase()]: body });
      // The replies that grow with the cluster: their long lists are rendered as they are
      // written, a chunk per loop round (streamJson: same bytes as a whole document;
      // streamProtobuf: pieces that a protobuf parser merges into the same message).
      const isJson = exchange.mediaType === APPLICATION_JSON;
      const list: ListMaker = streamedList;
      const replyLarge = (type: string, body: unknown) =>
        isJson
          ? streamJson(response, 200, { type, [type.toLowerCase()]: body })
          : streamProtobuf(response, 200, messages.reply, { type, [type.toLowerCase()]: body });
      const { books } = master;
      const principal = request.principal?.value;
      const { acls } = master;
      authorizeCall(master, principal, call);
      const visibility = visibilityFor(acls, principal);
      const userOf = frameworkUsers(books);
      const shown = <T>(
        body: T,
        filter: (body: Record<string, unknown>, v: Visibility) => unknown,
      ) => (visibility === undefined ? body : filter(body as Record<string, unknown>, visibility));
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
          return exchange.replyEmpty(200);
        case 'LIST_FILES':
          return reply(
            'LIST_FILES',
            await listFiles(master.openFileAs(principal), call.list_files.path),
          );
        case 'READ_FILE': {
          const { path, offset, length } = call.read_file;
          return reply(
            'READ_FILE',
            await readFile(master.openFileAs(principal), path, offset, length),
          );
        }
        case 'GET_EXECUTORS':
          return reply(
            'GET_EXECUTORS',
            shown(v1Executors(books), (b, v) => filterV1Executors(b, v, userOf)),
          );
        case 'GET_AGENTS':
          return replyLarge('GET_AGENTS', v1Agents(books, list));
        case 'GET_FRAMEWORKS':
          return reply('GET_FRAMEWORKS', shown(v1Frameworks(books), filterV1Frameworks));
        case 'GET_TASKS':
          // Filtered by view_* ACLs: built whole; otherwise streamed as it is rendered.
          return visibility === undefined
            ? replyLarge('GET_TASKS', v1Tasks(books, list))
            : reply(
                'GET_TASKS',
                shown(v1Tasks(books, eagerList), (b, v) => filterV1Tasks(b, v, userOf)),
              );
        case 'GET_STATE':
          return visibility === undefined
            ? replyLarge('GET_STATE', v1State(books, list))
            : reply(
                'GET_STATE',
                shown(v1State(books, eagerList), (b, v) => filterV1(b, v, userOf)),
              );
        case 'SUBSCRIBE':
          return master.subscribeOperator(response, request.signal, exchange.events, visibility);
        case 'GET_ROLES':
          return reply('GET_ROLES', {
            roles: v1Roles(shownRoles(acls, principal, master.roleBreakdowns(), (r) => r.name)),
          });
        case 'GET_WEIGHTS':
          return reply('GET_WEIGHTS', {
            weight_infos: shownRoles(acls, principal, [...master.weights], ([role]) => role).map(
              ([role, weight]) => ({ weight, role }),
            ),
          });
        case 'UPDATE_WEIGHTS':
          await master.updateWeights(validateWeights(call.update_weights?.weight_infos ?? []));
          return exchange.replyEmpty(200);
        case 'GET_QUOTA':
          return reply('GET_QUOTA', {
            status: quotaStatus(shownQuotas(acls, principal, master.quotas)),
          });
        case 'UPDATE_QUOTA': {
          const update = call.update_quota;
          if (update === undefined) return;
          await master.updateQuota(
            validateQuotaUpdate(update.quota_configs, update.force ?? false, master.quotaContext()),
          );
          return exchange.replyEmpty(200);
        }
        case 'SET_QUOTA':
          await setQuota(master, call.set_quota.quota_request, 'set_quota.quota_request');
          return exchange.replyEmpty(200);
        case 'REMOVE_QUOTA':
          await removeQuota(master, call.remove_quota.role, 'remove_quota.role');
          return exchange.replyEmpty(200);
        case 'RESERVE_RESOURCES': {
          const body = call.reserve_resources;
          if (body === undefined) return;
          master.changeReservations(body.agent_id.value, 'reserve', body.resources, principal);
          return exchange.replyEmpty(202);
        }
        case 'UNRESERVE_RESOURCES': {
          const body = call.unreserve_resources;
          if (body === undefined) return;
          master.changeReservations(body.agent_id.value, 'unreserve', body.resources, principal);
          return exchange.replyEmpty(202);
        }
        case 'CREATE_VOLUMES':
        case 'DESTROY_VOLUMES': {
          const body = call.type === 'CREATE_VOLUMES' ? call.create_volumes : call.destroy_volumes;
          master.changeVolumes(
            body.agent_id.value,
            { kind: call.type === 'CREATE_VOLUMES' ? 'create' : 'destroy', volumes: body.volumes },
            principal,
          );
          return exchange.replyEmpty(202);
        }
        case 'GROW_VOLUME': {
          const body = call.grow_volume;
          if (body.agent_id === undefined)
            throw new BadRequestError('grow_volume.agent_id', 'required (volumes are on agents)');
          master.changeVolumes(
            body.agent_id.value,
            { kind: 'grow', volume: body.volume, addition: body.addition },
            principal,
          );
          return exchange.replyEmpty(202);
        }
        case 'SHRINK_VOLUME': {
          const body = call.shrink_volume;
          if (body.agent_id === undefined)
            throw new BadRequestError('shrink_volume.agent_id', 'required (volumes are on agents)');
          master.changeVolumes(
            body.agent_id.value,
            { kind: 'shrink', volume: body.volume, subtract: body.subtract.value },
            principal,
          );
          return exchange.replyEmpty(202);
        }
        case 'GET_OPERATIONS':
          return reply('GET_OPERATIONS', v1Operations(books));
        case 'TEARDOWN': {
          const id = call.teardown?.framework_id;
          if (id === undefined)
            throw new BadRequestError('teardown', 'required for a TEARDOWN call');
          if (!master.teardownFramework(id))
            throw new BadRequestError(
              'teardown.framework_id',
              `no framework with id '${id.value}'`,
            );
          return exchange.replyEmpty(200);
        }
        case 'GET_MAINTENANCE_SCHEDULE':
          return reply('GET_MAINTENANCE_SCHEDULE', {
            schedule: shownSchedule(acls, principal, books.schedule),
          });
        case 'GET_MAINTENANCE_STATUS':
          return reply('GET_MAINTENANCE_STATUS', {
            status: shownMaintenanceStatus(acls, principal, maintenanceStatus(books)),
          });
        case 'UPDATE_MAINTENANCE_SCHEDULE':
          await master.updateMaintenanceSchedule(call.update_maintenance_schedule.schedule);
          return exchange.replyEmpty(200);
        case 'START_MAINTENANCE':
          await master.startMaintenance(call.start_maintenance.machines);
          return exchange.replyEmpty(200);
        case 'STOP_MAINTENANCE':
          await master.stopMaintenance(call.stop_maintenance.machines);
          return exchange.replyEmpty(200);
        case 'DRAIN_AGENT': {
          const body = call.drain_agent;
          await master.drainAgent(
            body.agent_id.value,
            body.max_grace_period,
            body.mark_gone ?? false,
          );
          return exchange.replyEmpty(200);
        }
        case 'DEACTIVATE_AGENT':
          await master.deactivateAgent(call.deactivate_agent.agent_id.value);
          return exchange.replyEmpty(200);
        case 'REACTIVATE_AGENT':
          await master.reactivateAgent(call.reactivate_agent.agent_id.value);
          return exchange.replyEmpty(200);
        case 'MARK_AGENT_GONE':
          await master.markAgentGone(call.mark_agent_gone.agent_id.value);
          return exchange.replyEmpty(200);
        default:
          return assertNever(call);
      }
    }),
  );
}

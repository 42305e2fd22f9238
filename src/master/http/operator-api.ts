// POST /api/v1: the v1 operator API (WIRE §6.1). Calls not served yet answer 501.
// Calls come as JSON or protobuf; replies and the SUBSCRIBE stream go out in what
// Accept chooses (runtime/codec.ts), checked before any call runs.
import { apiRoute, HttpError, type HttpServer } from '../../runtime/index.js';
import {
  AGORA_VERSION,
  BadRequestError,
  MESOS_API_VERSION,
  PROTO_MESSAGES,
  parseMasterCall,
} from '../../wire/index.js';
import type { MasterQueries, OperatorCommands } from '../api.js';
import { validateQuotaUpdate, validateWeights } from '../core/quota.js';
import { quotaStatus, v1Agents, v1Frameworks, v1Roles, v1State, v1Tasks } from './render.js';

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
        exchange.reply(200, { type, [type.toLowerCase()]: body });
      const { books } = master;
      const principal = request.principal?.value;
      switch (call.type) {
        case 'GET_HEALTH':
          return reply('GET_HEALTH', { healthy: true });
        case 'GET_VERSION':
          return reply('GET_VERSION', {
            version_info: { version: MESOS_API_VERSION, build_user: `agora ${AGORA_VERSION}` },
          });
        case 'GET_FLAGS':
          return reply('GET_FLAGS', {
            flags: Object.entries(master.flags).map(([name, value]) => ({
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
            master_info: master.masterInfo(),
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
          return reply('GET_STATE', v1State(books));
        case 'SUBSCRIBE':
          return master.subscribeOperator(response, request.signal, exchange.events);
        case 'GET_ROLES':
          return reply('GET_ROLES', { roles: v1Roles(master.roleBreakdowns()) });
        case 'GET_WEIGHTS':
          return reply('GET_WEIGHTS', {
            weight_infos: [...master.weights].map(([role, weight]) => ({ weight, role })),
          });
        case 'UPDATE_WEIGHTS':
          await master.updateWeights(validateWeights(call.update_weights?.weight_infos ?? []));
          return exchange.replyEmpty(200);
        case 'GET_QUOTA':
          return reply('GET_QUOTA', { status: quotaStatus(master.quotas) });
        case 'UPDATE_QUOTA': {
          const update = call.update_quota;
          if (update === undefined) return;
          await master.updateQuota(
            validateQuotaUpdate(update.quota_configs, update.force ?? false, master.quotaContext()),
          );
          return exchange.replyEmpty(200);
        }
        case 'SET_QUOTA': {
          // Deprecated since Mesos 1.9: the guarantee doubles as the limit.
          const requestBody = call.set_quota?.quota_request;
          const role = requestBody?.role;
          if (requestBody === undefined || role === undefined)
            throw new BadRequestError('set_quota.quota_request.role', 'required');
          if (master.quotas.has(role))
            throw new BadRequestError(
              'set_quota.quota_request.role',
              `role '${role}' already has a quota`,
            );
          const guarantees = Object.fromEntries(
            (requestBody.guarantee ?? []).map((r, i) => {
              if (r.type !== 'SCALAR' || r.scalar === undefined)
                throw new BadRequestError(
                  `set_quota.quota_request.guarantee[${i}]`,
                  'quota is for scalar resources',
                );
              return [r.name, { value: r.scalar.value }];
            }),
          );
          const configs = validateQuotaUpdate(
            [{ role, guarantees, limits: guarantees }],
            requestBody.force ?? false,
            master.quotaContext(),
            'set_quota.quota_request',
          );
          await master.updateQuota(configs);
          return exchange.replyEmpty(200);
        }
        case 'REMOVE_QUOTA': {
          const role = call.remove_quota?.role ?? '';
          if (!master.quotas.has(role))
            throw new BadRequestError('remove_quota.role', `role '${role}' has no quota`);
          await master.updateQuota([{ role, guarantees: {}, limits: {} }]);
          return exchange.replyEmpty(200);
        }
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
        default:
          throw new HttpError('NOT_IMPLEMENTED', `${call.type} is not implemented yet`);
      }
    }),
  );
}

// POST /api/v1/scheduler: HTTP-level checks in Mesos' order (WIRE §1.8), then
// the call goes to the master. Everything here runs before state is touched.
// Calls come as JSON or protobuf, and the event stream goes out in what the
// subscriber's Accept chooses (runtime/codec.ts).
import { apiRoute, HttpError, type HttpServer, requireAuthorized } from '../../runtime/index.js';
import type { Call, FrameworkCall } from '../../wire/index.js';
import {
  assertNever,
  BadRequestError,
  PROTO_MESSAGES,
  parseCall,
  quote,
  STREAM_ID_HEADER,
} from '../../wire/index.js';
import type { MasterApi } from '../api.js';
import { frameworkRoles } from '../core/framework-info.js';
import type { FrameworkRecord } from '../core/records.js';
import { acceptAuthorizer } from './call-authorization.js';

/**
 * Mesos checks Accept only for the calls that answer with a body (SUBSCRIBE's stream,
 * and RECONCILE_OPERATIONS, which once answered with one): every other call answers an
 * empty 202 whatever its Accept says.
 */
const isNegotiated = (call: Call) =>
  call.type === 'SUBSCRIBE' || call.type === 'RECONCILE_OPERATIONS';

export function routeSchedulerApi(http: HttpServer, master: MasterApi): void {
  http.route(
    ['POST'],
    '/master/api/v1/scheduler',
    apiRoute(
      {
        messages: { call: PROTO_MESSAGES.schedulerCall, event: PROTO_MESSAGES.schedulerEvent },
        parse: parseCall,
        isNegotiated,
      },
      async (call, exchange, request, response) => {
        const streamIdHeader = request.headers[STREAM_ID_HEADER];

        if (call.type === 'SUBSCRIBE') {
          if (streamIdHeader !== undefined)
            throw new BadRequestError('Mesos-Stream-Id', 'must not be set on a SUBSCRIBE call');
          if (call.framework_id?.value !== call.subscribe.framework_info.id?.value)
            throw new BadRequestError('framework_id', "must equal 'subscribe.framework_info.id'");
          // ACL register_frameworks: every role the framework subscribes to.
          for (const role of frameworkRoles(call.subscribe.framework_info))
            requireAuthorized(master.acls, 'register_frameworks', request.principal?.value, role);
          await master.subscribeFramework(
            call.subscribe,
            response,
            request.principal,
            request.signal,
            exchange.events,
          );
          return;
        }

        const framework = master.books.frameworks.get(call.framework_id.value);
        if (framework === undefined)
          throw new BadRequestError('framework_id', 'Framework cannot be found');
        if (request.principal !== undefined && framework.info.principal !== request.principal.value)
          throw new BadRequestError(
            '',
            "Authenticated principal does not match the framework's principal",
          );
        const link = framework.link;
        if (link.state !== 'connected')
          throw new HttpError('FORBIDDEN', 'Framework is not subscribed');
        if (streamIdHeader === undefined)
          throw new BadRequestError(
            'Mesos-Stream-Id',
            'header is required on every call but SUBSCRIBE',
          );
        if (streamIdHeader !== link.streamId)
          throw new BadRequestError(
            'Mesos-Stream-Id',
            `${quote(String(streamIdHeader))} is not the framework's current stream`,
          );
        master.countCall(framework, call);
        const status = dispatch(master, framework, call);
        // The answer waits for what the call set off to go out: a registry write may hold
        // the outbox, and a master that dies in between must not have said 202 to an
        // ACKNOWLEDGE its agent never heard of (it would resend an acknowledged update).
        await master.flushed();
        exchange.replyEmpty(status);
      },
    ),
  );
}

/** Runs one framework call; returns the status to answer with (202, or 200 for UPDATE_FRAMEWORK). */
function dispatch(master: MasterApi, framework: FrameworkRecord, call: FrameworkCall): 200 | 202 {
  switch (call.type) {
    case 'TEARDOWN':
      master.teardown(framework, 'TEARDOWN call');
      return 202;
    case 'ACCEPT':
      // Refused operations fail alone, as in Mesos (see AcceptAuthorizer): not a 403.
      master.accept(framework, call.accept, acceptAuthorizer(master.acls, framework.info));
      return 202;
    case 'DECLINE':
      master.decline(
        framework,
        call.decline.offer_ids.map((id) => id.value),
        call.decline.filters?.refuse_seconds,
      );
      return 202;
    case 'REVIVE':
      // Roles the framework is not subscribed with: 202, and the core drops the call.
      master.revive(framework, call.revive?.roles ?? []);
      return 202;
    case 'SUPPRESS':
      master.suppress(framework, call.suppress?.roles ?? []);
      return 202;
    case 'KILL':
      master.kill(
        framework,
        call.kill.task_id.value,
        call.kill.agent_id?.value,
        call.kill.kill_policy?.grace_period?.nanoseconds,
      );
      return 202;
    case 'ACKNOWLEDGE':
      master.acknowledge(
        framework,
        call.acknowledge.agent_id.value,
        call.acknowledge.task_id.value,
        call.acknowledge.uuid,
      );
      return 202;
    case 'RECONCILE':
      master.reconcile(framework, call.reconcile);
      return 202;
    case 'UPDATE_FRAMEWORK':
      if (call.update_framework.framework_info.id?.value !== framework.id.value)
        throw new BadRequestError(
          'update_framework.framework_info.id',
          "must equal the call's 'framework_id'",
        );
      master.updateFramework(framework, call.update_framework);
      return 200;
    case 'REQUEST':
      // Mesos ignores REQUEST too (its allocator's requestResources does nothing).
      return 202;
    case 'ACCEPT_INVERSE_OFFERS':
      master.answerInverseOffers(
        framework,
        call.accept_inverse_offers.inverse_offer_ids.map((id) => id.value),
        'ACCEPT',
        call.accept_inverse_offers.filters?.refuse_seconds,
      );
      return 202;
    case 'DECLINE_INVERSE_OFFERS':
      master.answerInverseOffers(
        framework,
        call.decline_inverse_offers.inverse_offer_ids.map((id) => id.value),
        'DECLINE',
        call.decline_inverse_offers.filters?.refuse_seconds,
      );
      return 202;
    case 'SHUTDOWN':
      master.shutdownExecutor(
        framework,
        call.shutdown.agent_id.value,
        call.shutdown.executor_id.value,
      );
      return 202;
    case 'MESSAGE':
      master.messageExecutor(
        framework,
        call.message.agent_id.value,
        call.message.executor_id.value,
        call.message.data,
      );
      return 202;
    case 'ACKNOWLEDGE_OPERATION_STATUS': {
      const body = call.acknowledge_operation_status;
      // Mesos' validation requires the agent id (WIRE §10 #7): operations here are on agents.
      if (body.agent_id === undefined)
        throw new BadRequestError(
          'acknowledge_operation_status.agent_id',
          'required (operations on agent default resources)',
        );
      master.acknowledgeOperationStatus(framework, body.operation_id.value, body.uuid);
      return 202;
    }
    case 'RECONCILE_OPERATIONS':
      master.reconcileOperations(framework, call.reconcile_operations);
      return 202;
    default:
      return assertNever(call);
  }
}

// POST /master/api/v1/agent: Agora's own agent protocol (see wire/agent-protocol.ts).
import { HttpError, type HttpServer, readJsonBody, sendEmpty } from '../../runtime/index.js';
import { BadRequestError, parseAgentCall, STREAM_ID_HEADER } from '../../wire/index.js';
import type { MasterApi } from '../api.js';

export function routeAgentApi(http: HttpServer, master: MasterApi): void {
  http.route(['POST'], '/master/api/v1/agent', async (request, response) => {
    const call = parseAgentCall(await readJsonBody(request));
    if (call.type === 'SUBSCRIBE') {
      const remote = request.raw.socket.remoteAddress ?? '127.0.0.1';
      await master.subscribeAgent(
        call.subscribe,
        call.agent_id?.value ?? call.subscribe.agent_info.id?.value,
        remote.replace(/^::ffff:/, ''),
        response,
        request.signal,
      );
      return;
    }
    const agent = master.books.agents.get(call.agent_id.value);
    if (agent === undefined) throw new BadRequestError('agent_id', 'Agent cannot be found');
    const streamId = master.agentStreamId(agent);
    if (streamId === undefined) throw new HttpError('FORBIDDEN', 'Agent is not subscribed');
    if (request.headers[STREAM_ID_HEADER] !== streamId)
      throw new BadRequestError('Mesos-Stream-Id', "is not the agent's current stream");
    if (call.type === 'PONG') master.pong(agent);
    else master.statusUpdate(agent, call.update.framework_id.value, call.update.status);
    sendEmpty(response, 202);
  });
}

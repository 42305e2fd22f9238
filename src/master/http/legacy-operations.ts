// The legacy endpoints that change things (WIRE §7.2; docs/endpoints/master):
// /teardown, /reserve, /unreserve, /create-volumes, /destroy-volumes and /quota, each answering as Mesos'
// master/http.cpp and quota_handler.cpp do; and /redirect. The work itself is
// the operator API's: these only read Mesos' older request shapes.
import { type HttpServer, readFormBody, readJsonBody, sendEmpty } from '../../runtime/index.js';
import type { MasterCall } from '../../wire/index.js';
import {
  BadRequestError,
  exceedsJsonDepth,
  frameworkId,
  limits,
  parseQuotaRequest,
  parseResources,
  type Resource,
} from '../../wire/index.js';
import type { MasterQueries, OperatorCommands } from '../api.js';
import { authorizeCall } from './call-authorization.js';
import { removeQuota, setQuota } from './quota-requests.js';

type Master = MasterQueries & OperatorCommands;

export function routeLegacyOperations(http: HttpServer, master: Master): void {
  // POST form `frameworkId=<id>`: 200 once torn down.
  http.route(['POST'], '/master/teardown', async (request, response) => {
    const form = await readFormBody(request);
    const id = form.get('frameworkId');
    if (id === null)
      throw new BadRequestError('', "Missing 'frameworkId' query parameter in the request body");
    authorizeCall(master, request.principal?.value, {
      type: 'TEARDOWN',
      teardown: { framework_id: frameworkId(id) },
    });
    if (!master.teardownFramework(frameworkId(id)))
      throw new BadRequestError('frameworkId', 'No framework found with specified ID');
    sendEmpty(response, 200);
  });

  // POST form `slaveId=<id>&resources=<JSON array of Resource>`: 202, or 409 when the
  // resources are not there to (un)reserve.
  for (const kind of ['reserve', 'unreserve'] as const)
    http.route(['POST'], `/master/${kind}`, async (request, response) => {
      const form = await readFormBody(request);
      const slaveId = form.get('slaveId');
      if (slaveId === null)
        throw new BadRequestError('', "Missing 'slaveId' query parameter in the request body");
      const resources = resourcesParameter(form, 'resources');
      // `source` (reservation refinement) is checked as Mesos does, and not used yet: the
      // operator API's RESERVE_RESOURCES does not use it either.
      if (kind === 'reserve' && form.has('source')) resourcesParameter(form, 'source');
      const body = { agent_id: { value: slaveId }, resources };
      authorizeCall(
        master,
        request.principal?.value,
        (kind === 'reserve'
          ? { type: 'RESERVE_RESOURCES', reserve_resources: body }
          : { type: 'UNRESERVE_RESOURCES', unreserve_resources: body }) as MasterCall,
      );
      if (master.books.agents.get(slaveId)?.link.state !== 'connected')
        throw new BadRequestError('slaveId', 'No agent found with specified ID');
      master.changeReservations(slaveId, kind, resources, request.principal?.value);
      sendEmpty(response, 202);
    });

  // POST form `slaveId=<id>&volumes=<JSON array of Resource>`: 202, 400, or 409 when the
  // disk is not there or a task uses the volume (docs/persistent-volume.md).
  for (const kind of ['create', 'destroy'] as const)
    http.route(['POST'], `/master/${kind}-volumes`, async (request, response) => {
      const form = await readFormBody(request);
      const slaveId = form.get('slaveId');
      if (slaveId === null)
        throw new BadRequestError('', "Missing 'slaveId' query parameter in the request body");
      const volumes = resourcesParameter(form, 'volumes');
      const body = { agent_id: { value: slaveId }, volumes };
      authorizeCall(
        master,
        request.principal?.value,
        (kind === 'create'
          ? { type: 'CREATE_VOLUMES', create_volumes: body }
          : { type: 'DESTROY_VOLUMES', destroy_volumes: body }) as MasterCall,
      );
      master.changeVolumes(slaveId, { kind, volumes }, request.principal?.value);
      sendEmpty(response, 202);
    });

  // Mesos 1.x quota (before UPDATE_QUOTA): POST a QuotaRequest, DELETE /quota/<role>.
  http.route(['POST'], '/master/quota', async (request, response) => {
    const quotaRequest = parseQuotaRequest(await readJsonBody(request));
    authorizeCall(master, request.principal?.value, {
      type: 'SET_QUOTA',
      set_quota: { quota_request: quotaRequest },
    });
    await setQuota(master, quotaRequest, 'quota_request');
    sendEmpty(response, 200);
  });
  http.routePrefix(['DELETE'], '/master/quota/', async (request, response) => {
    const role = decodeRole(request.path.slice('/master/quota/'.length));
    authorizeCall(master, request.principal?.value, {
      type: 'REMOVE_QUOTA',
      remove_quota: { role },
    });
    await removeQuota(master, role, 'role');
    sendEmpty(response, 200);
  });

  // 307 to the leading master's base URL (protocol-relative, WIRE §1.8); a single master
  // leads, so that is this one. `/redirect` is delegated here; `/redirect/…` stays 404.
  http.route(['GET', 'POST'], '/master/redirect', (_request, response) => {
    const info = master.masterInfo();
    response.writeHead(307, {
      location: `//${info.hostname ?? info.address?.ip ?? ''}:${info.port}`,
      'content-length': 0,
    });
    response.end();
  });
}

/** A form parameter holding a JSON array of Resource, as Mesos parses /reserve's. */
function resourcesParameter(form: URLSearchParams, key: string): readonly Resource[] {
  const text = form.get(key);
  if (text === null)
    throw new BadRequestError('', `Missing '${key}' query parameter in the request body`);
  const problem = `Error in parsing '${key}' query parameter in the request body`;
  if (exceedsJsonDepth(Buffer.from(text), limits.MAX_JSON_DEPTH))
    throw new BadRequestError(
      key,
      `${problem}: nested deeper than ${limits.MAX_JSON_DEPTH} levels`,
    );
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new BadRequestError(key, `${problem}: ${(error as Error).message}`, { cause: error });
  }
  return parseResources(value);
}

/** The role in `/master/quota/<role>`, percent-decoded; a malformed escape is 400. */
function decodeRole(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch (error) {
    throw new BadRequestError('role', 'is not a valid percent-encoded path', { cause: error });
  }
}

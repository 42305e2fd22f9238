// The deprecated quota requests (Mesos 1.x, before UPDATE_QUOTA): SET_QUOTA and
// REMOVE_QUOTA on POST /api/v1, and the legacy POST /master/quota and DELETE
// /master/quota/<role> (quota_handler.cpp). Both spellings run through here.
import { BadRequestError, type QuotaRequest } from '../../wire/index.js';
import type { MasterQueries, OperatorCommands } from '../api.js';
import { validateQuotaUpdate } from '../core/quota.js';

type Master = MasterQueries & OperatorCommands;

/**
 * Sets a role's quota from a QuotaRequest: its guarantee doubles as the limit,
 * as Mesos 1.9+ converts it. A role that has a quota already is refused (400):
 * the request cannot update one. Over-commit without `force` is 409.
 */
export async function setQuota(master: Master, request: QuotaRequest, field: string) {
  const role = request.role;
  if (role === undefined) throw new BadRequestError(`${field}.role`, 'required');
  if (master.quotas.has(role))
    throw new BadRequestError(
      `${field}.role`,
      `cannot set quota for role '${role}' which already has quota`,
    );
  const guarantees = Object.fromEntries(
    (request.guarantee ?? []).map((r, i) => {
      if (r.type !== 'SCALAR' || r.scalar === undefined)
        throw new BadRequestError(`${field}.guarantee[${i}]`, 'quota is for scalar resources');
      return [r.name, { value: r.scalar.value }];
    }),
  );
  const configs = validateQuotaUpdate(
    [{ role, guarantees, limits: guarantees }],
    request.force ?? false,
    master.quotaContext(),
    field,
  );
  await master.updateQuota(configs);
}

/** Removes a role's quota; a role without one is refused (400). */
export async function removeQuota(master: Master, role: string, field: string) {
  if (!master.quotas.has(role)) throw new BadRequestError(field, `role '${role}' has no quota set`);
  await master.updateQuota([{ role, guarantees: {}, limits: {} }]);
}

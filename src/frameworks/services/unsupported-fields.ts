// Marathon AppDefinition fields this framework does not implement. Dropping
// them would run an app other than the one asked for (no secrets, another
// network), so a request that gives one with a value that changes anything is
// answered 422 naming it. Their defaults (what Marathon's own GET shows and a
// client sends back on PUT) are accepted as no-ops. Pure.

const isEmpty = (v: unknown): boolean =>
  v === null ||
  v === undefined ||
  (Array.isArray(v) && v.length === 0) ||
  (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0);

/** Per field: whether a value is the default (a no-op), and what the error says otherwise. */
const UNSUPPORTED: Readonly<Record<string, { isNoOp: (v: unknown) => boolean; why: string }>> = {
  secrets: { isNoOp: isEmpty, why: 'secrets are not supported by this framework' },
  acceptedResourceRoles: {
    isNoOp: (v) => isEmpty(v) || (Array.isArray(v) && v.length === 1 && v[0] === '*'),
    why: 'not supported: use role',
  },
  executor: {
    isNoOp: (v) => v === null || v === undefined || v === '' || v === '//cmd',
    why: 'custom executors are not supported',
  },
  residency: { isNoOp: isEmpty, why: 'persistent volumes (residency) are not supported' },
  ipAddress: { isNoOp: isEmpty, why: 'IP-per-task is not supported' },
  storeUrls: { isNoOp: isEmpty, why: 'not supported' },
  taskKillGracePeriodSeconds: { isNoOp: isEmpty, why: 'not supported' },
  tty: { isNoOp: (v) => v === null || v === undefined || v === false, why: 'not supported' },
  check: { isNoOp: isEmpty, why: 'Mesos checks are not supported: use healthChecks' },
  resourceLimits: { isNoOp: isEmpty, why: 'not supported' },
};

/** The unsupported fields a body gives with a non-default value, as Marathon's 422 details. */
export function unsupportedFields(
  body: Readonly<Record<string, unknown>>,
): { path: string; errors: string[] }[] {
  const details: { path: string; errors: string[] }[] = [];
  for (const [field, rule] of Object.entries(UNSUPPORTED))
    if (Object.hasOwn(body, field) && !rule.isNoOp(body[field]))
      details.push({ path: `/${field}`, errors: [rule.why] });
  return details;
}

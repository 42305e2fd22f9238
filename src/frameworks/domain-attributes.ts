// An offer's fault domain (docs/fault-domains.md) read as two attributes,
// `@region` and `@zone` (the field names Marathon's constraints use), so the
// services and jobs frameworks place by region and zone with the constraints
// they already have: ["@zone","GROUP_BY"], ["@region","CLUSTER","eu"],
// `@zone:store-17` (#15). Attribute names from agents do not start with `@`.
import type { Offer } from '../wire/index.js';

export const REGION_FIELD = '@region';
export const ZONE_FIELD = '@zone';

/** `{ "@region": …, "@zone": … }` for an offer whose agent has a domain; empty otherwise. */
export function domainAttributes(offer: Pick<Offer, 'domain'>): Record<string, string> {
  const fault = offer.domain?.fault_domain;
  if (fault === undefined) return {};
  return { [REGION_FIELD]: fault.region.name, [ZONE_FIELD]: fault.zone.name };
}

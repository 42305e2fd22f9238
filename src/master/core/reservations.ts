// RESERVE and UNRESERVE (dynamic reservations; Mesos docs/reservation.md), as
// conversions of an agent's resources from one form to another. Pure.
import { Resources, roleError } from '../../resources/index.js';
import { BadRequestError, type Resource } from '../../wire/index.js';

/**
 * The resources a conversion needs are not there (in use, or offered): a conflict, not bad
 * input. The operator API answers 409 (WIRE §6.1) and first rescinds offers that hold them.
 */
export class UnavailableError extends BadRequestError {}

/** Resources `from` become resources `to` (same quantities, another reservation). */
export interface Conversion {
  readonly from: Resources;
  readonly to: Resources;
}

export interface ReservationContext {
  /** What the conversion may draw on: a framework's offers, or an agent's unallocated resources. */
  readonly available: Resources;
  /** For a framework: its offers' allocation role, which every reservation must be for. */
  readonly role?: string;
  /** The principal reserving; a reservation naming another principal is refused. */
  readonly principal?: string;
}

function parsed(resources: readonly Resource[] | undefined, field: string): Resources {
  if (resources === undefined || resources.length === 0)
    throw new BadRequestError(field, 'no resources given');
  try {
    return Resources.fromWire(resources).unallocate();
  } catch (error) {
    if (error instanceof BadRequestError)
      throw new BadRequestError(field, error.reason, { cause: error });
    throw error;
  }
}

/**
 * RESERVE: `resources` carry their new (dynamic) reservation on top; they are
 * made from the same resources without it, which must be available.
 */
export function reserveConversion(
  resources: readonly Resource[] | undefined,
  context: ReservationContext,
  field: string,
): Conversion {
  const to = parsed(resources, field);
  if (!to.isDynamicallyReserved())
    throw new BadRequestError(
      field,
      'every resource to reserve must carry a DYNAMIC reservation on top',
    );
  for (const [i, resource] of (resources ?? []).entries()) {
    const top =
      resource.reservations?.at(-1) ??
      (resource.role !== undefined && resource.role !== '*'
        ? { role: resource.role, ...resource.reservation }
        : undefined);
    const role = top?.role;
    if (role === undefined)
      throw new BadRequestError(`${field}[${i}]`, 'the reservation names no role');
    const reason = roleError(role);
    if (reason !== undefined)
      throw new BadRequestError(`${field}[${i}]`, `role '${role}': ${reason}`);
    if (context.role !== undefined && role !== context.role)
      throw new BadRequestError(
        `${field}[${i}]`,
        `a framework may only reserve for the role it was offered to ('${context.role}'), not '${role}'`,
      );
    const principal = top?.principal;
    if (
      context.principal !== undefined &&
      principal !== undefined &&
      principal !== context.principal
    )
      throw new BadRequestError(
        `${field}[${i}]`,
        `the reservation's principal '${principal}' is not the caller's ('${context.principal}')`,
      );
  }
  const from = to.popReservation();
  if (!context.available.contains(from))
    throw new UnavailableError(
      field,
      `${from.toString()} is not available to reserve (available: ${context.available.toString()})`,
    );
  return { from, to };
}

/** UNRESERVE: dynamically reserved `resources` become what they were before the reservation. */
export function unreserveConversion(
  resources: readonly Resource[] | undefined,
  context: ReservationContext,
  field: string,
): Conversion {
  const from = parsed(resources, field);
  if (!from.isDynamicallyReserved())
    throw new BadRequestError(field, 'only dynamically reserved resources can be unreserved');
  if (context.role !== undefined)
    for (const role of from.reservedRoles())
      if (role !== context.role)
        throw new BadRequestError(
          field,
          `a framework may only unreserve its role's ('${context.role}') reservations, not '${role}'`,
        );
  if (!from.persistentVolumes().isEmpty())
    throw new BadRequestError(
      field,
      'A dynamically reserved persistent volume cannot be unreserved directly. Please destroy the persistent volume first then unreserve the resource',
    );
  if (!context.available.contains(from))
    throw new UnavailableError(
      field,
      `${from.toString()} is not available to unreserve (available: ${context.available.toString()})`,
    );
  return { from, to: from.popReservation() };
}

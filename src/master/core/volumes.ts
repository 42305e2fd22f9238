// CREATE, DESTROY, GROW_VOLUME and SHRINK_VOLUME (Mesos docs/persistent-volume.md), as
// conversions of an agent's resources, like RESERVE and UNRESERVE in reservations.ts. A
// persistent volume is reserved disk with `disk.persistence` and `disk.volume`: it is offered
// only to its role (as any reservation), stays on the agent when the tasks using it end, and
// goes only by DESTROY. Pure: the callers apply the conversion to the agent and the allocator.
import { Resources } from '../../resources/index.js';
import { BadRequestError, type Resource } from '../../wire/index.js';
import { type Conversion, UnavailableError } from './reservations.js';
import { idError } from './task-validation.js';

export interface VolumeContext {
  /** What the conversion may draw on: a framework's offers, or an agent's unallocated resources. */
  readonly available: Resources;
  /** The agent's persistent volumes now (unallocated): ids are unique per role on an agent. */
  readonly volumes: Resources;
  /** The principal creating; a volume naming another principal is refused (Mesos' rule). */
  readonly principal?: string;
}

function parsed(resources: readonly Resource[], field: string): Resources {
  if (resources.length === 0) throw new BadRequestError(field, 'no volumes given');
  try {
    return Resources.fromWire(resources).unallocate();
  } catch (error) {
    if (error instanceof BadRequestError)
      throw new BadRequestError(field, error.reason, { cause: error });
    throw error;
  }
}

/**
 * Mesos' validatePersistentVolume and validateDiskInfo, for what the schema cannot see.
 * Shared volumes (`shared`) are refused: the algebra does not count their copies yet, so two
 * tasks could not both hold one (see the TODO on Identity.isShared in resources.ts).
 */
function volumeError(resource: Resource): string | undefined {
  const persistence = resource.disk?.persistence;
  if (resource.disk === undefined) return `resource '${resource.name}' does not have DiskInfo`;
  if (persistence === undefined) return "'persistence' is not set in DiskInfo";
  if (resource.name !== 'disk')
    return `a persistent volume must be a 'disk', not '${resource.name}'`;
  if (resource.disk.volume === undefined)
    return "Expecting 'volume' to be set for persistent volume";
  if (resource.disk.volume.mode === 'RO') return 'Read-only persistent volume not supported';
  if (resource.revocable !== undefined)
    return 'Persistent volumes cannot be created from revocable resources';
  const isReserved =
    (resource.reservations?.length ?? 0) > 0 ||
    (resource.role !== undefined && resource.role !== '*');
  if (!isReserved) return 'Persistent volumes cannot be created from unreserved resources';
  if (resource.shared !== undefined) return 'Shared persistent volumes are not supported yet';
  const idReason = idError(persistence.id);
  if (idReason !== undefined)
    return `Invalid persistence ID for persistent volume: '${persistence.id}' ${idReason}`;
  return undefined;
}

function checkVolumes(resources: readonly Resource[], field: string): void {
  for (const [i, resource] of resources.entries()) {
    const reason = volumeError(resource);
    if (reason !== undefined) throw new BadRequestError(`${field}[${i}]`, reason);
  }
}

/** The role whose reservation a volume is on, and its persistence id. */
function volumeKeys(volumes: Resources): string[] {
  return volumes
    .persistentVolumes()
    .toWire()
    .map((r) => JSON.stringify([r.reservations?.at(-1)?.role ?? '', r.disk?.persistence?.id]));
}

/** CREATE: reserved disk becomes the given persistent volumes. */
export function createConversion(
  resources: readonly Resource[],
  context: VolumeContext,
  field: string,
): Conversion {
  const to = parsed(resources, field);
  checkVolumes(resources, field);
  const seen = new Set(volumeKeys(context.volumes));
  for (const [i, resource] of resources.entries()) {
    const [key] = volumeKeys(Resources.fromWire([resource]));
    if (key !== undefined && seen.has(key))
      throw new BadRequestError(
        `${field}[${i}]`,
        `Persistence ID '${resource.disk?.persistence?.id}' is not unique`,
      );
    if (key !== undefined) seen.add(key);
    const principal = resource.disk?.persistence?.principal;
    if (context.principal !== undefined && principal !== context.principal)
      throw new BadRequestError(
        `${field}[${i}]`,
        principal === undefined
          ? `Create volume operation attempted by principal '${context.principal}', but there is a volume in the operation with no principal set in 'disk.persistence'`
          : `Create volume operation attempted by principal '${context.principal}', which does not match a volume in the operation with principal '${principal}' set in 'disk.persistence'`,
      );
  }
  const from = to.withoutPersistentVolumes();
  if (!context.available.contains(from))
    throw new UnavailableError(
      field,
      `${from.toString()} is not available to create volumes on (available: ${context.available.toString()})`,
    );
  return { from, to };
}

/**
 * DESTROY: persistent volumes become the reserved disk they were made of. A volume a task
 * uses is not in `available` (it is not offered while in use), hence "in use".
 */
export function destroyConversion(
  resources: readonly Resource[],
  context: VolumeContext & { readonly used: Resources },
  field: string,
): Conversion {
  const from = parsed(resources, field);
  checkVolumes(resources, field);
  if (!context.volumes.contains(from))
    throw new BadRequestError(field, 'Persistent volumes not found');
  if (!context.used.persistentVolumes().isEmpty())
    for (const resource of resources)
      if (context.used.contains(Resources.fromWire([resource]).unallocate()))
        throw new BadRequestError(field, 'Persistent volumes in use');
  if (!context.available.contains(from))
    throw new UnavailableError(
      field,
      `${from.toString()} is not available to destroy (available: ${context.available.toString()})`,
    );
  return { from, to: from.withoutPersistentVolumes() };
}

function singleVolume(resource: Resource, field: string): Resources {
  const volume = parsed([resource], field);
  const reason = volumeError(resource);
  if (reason !== undefined) throw new BadRequestError(field, reason);
  if (resource.disk?.source?.type === 'MOUNT')
    throw new BadRequestError(field, 'Resizing a volume on a MOUNT disk is not supported');
  return volume;
}

/** GROW_VOLUME: the volume and `addition` (disk of the same kind) become one larger volume. */
export function growConversion(
  volumeResource: Resource,
  additionResource: Resource,
  context: VolumeContext,
  field: string,
): Conversion {
  const volume = singleVolume(volumeResource, `${field}.volume`);
  const addition = parsed([additionResource], `${field}.addition`);
  const additionMillis = addition.scalarMillisOf('disk');
  if (additionMillis <= 0)
    throw new BadRequestError(
      `${field}.addition`,
      "The size of 'GrowVolume.addition' field must be greater than zero",
    );
  // The addition must be the same kind of disk (reservation, source) as the volume's.
  if (volume.withoutPersistentVolumes().plus(addition).entryCount() !== 1)
    throw new BadRequestError(
      field,
      "Incompatible resources in the 'GrowVolume.volume' and 'GrowVolume.addition' fields",
    );
  if (!context.volumes.contains(volume))
    throw new BadRequestError(`${field}.volume`, 'Persistent volume not found');
  const from = volume.plus(addition);
  if (!context.available.contains(from))
    throw new UnavailableError(
      field,
      `${from.toString()} is not available to grow the volume (available: ${context.available.toString()})`,
    );
  return { from, to: volume.withScalarMillis(volume.scalarMillisOf('disk') + additionMillis) };
}

/** SHRINK_VOLUME: the volume becomes a smaller one plus the freed disk, still reserved. */
export function shrinkConversion(
  volumeResource: Resource,
  subtract: number,
  context: VolumeContext,
  field: string,
): Conversion {
  const volume = singleVolume(volumeResource, `${field}.volume`);
  // Mesos keeps three decimals of a scalar: compare and subtract in thousandths.
  const subtractMillis = Math.round(subtract * 1000);
  const sizeMillis = volume.scalarMillisOf('disk');
  if (subtractMillis <= 0)
    throw new BadRequestError(
      `${field}.subtract`,
      "Value of 'ShrinkVolume.subtract' must be greater than zero",
    );
  if (sizeMillis <= subtractMillis)
    throw new BadRequestError(
      `${field}.subtract`,
      "Value of 'ShrinkVolume.subtract' must be smaller than the size of 'ShrinkVolume.volume'",
    );
  if (!context.volumes.contains(volume))
    throw new BadRequestError(`${field}.volume`, 'Persistent volume not found');
  if (!context.available.contains(volume))
    throw new UnavailableError(
      field,
      `${volume.toString()} is not available to shrink (available: ${context.available.toString()})`,
    );
  const freed = volume.withoutPersistentVolumes().withScalarMillis(subtractMillis);
  return { from: volume, to: volume.withScalarMillis(sizeMillis - subtractMillis).plus(freed) };
}

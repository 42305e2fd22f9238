// Which offers the instances waiting to launch go to: resources and ports
// first, then the app's constraints, then the placement module's policy among
// the offers left (spread by default). Pure; the shell turns the result into
// ACCEPTs and DECLINEs. What could not be placed is explained per app, with
// Marathon's reject reasons (GET /v2/queue's processedOffersSummary).
import { type PlacementPolicy, place, type Quantities } from '../../placement/index.js';
import type { Constraint } from './app-definition.js';
import { constraintText, type Site, violatedConstraint } from './constraints.js';

export interface OfferView extends Site {
  readonly id: string;
  readonly agentId: string;
  /** Address the instances on this agent are reached at (A records, /v2/tasks). */
  readonly ip: string;
  /** The role the offer is allocated to. */
  readonly role: string;
  readonly free: Quantities;
  /** Free port ranges, inclusive. */
  readonly ports: readonly (readonly [number, number])[];
}

export interface LaunchRequest {
  readonly appId: string;
  readonly count: number;
  readonly role: string;
  /** cpus, mem, disk, gpus: whatever the app asks for. */
  readonly demand: Quantities;
  /** Host ports: 0 takes any free port, another number exactly that one. */
  readonly ports: readonly number[];
  readonly constraints: readonly Constraint[];
  /** Where the app's instances already are. */
  readonly placed: readonly Site[];
  readonly submittedAtMs: number;
}

export interface MatchedLaunch {
  readonly appId: string;
  readonly offer: OfferView;
  readonly hostPorts: readonly number[];
}

export type RejectReason =
  | 'UnfulfilledRole'
  | 'UnfulfilledConstraint'
  | 'InsufficientCpus'
  | 'InsufficientMemory'
  | 'InsufficientDisk'
  | 'InsufficientGpus'
  | 'InsufficientPorts'
  | 'InsufficientResources';

export interface RejectSummary {
  readonly processed: number;
  readonly reasons: ReadonlyMap<RejectReason, number>;
  /** One line a person reads: which constraint or resource, on how many offers. */
  readonly message: string;
}

export interface MatchResult {
  readonly launches: readonly MatchedLaunch[];
  /** Apps that wanted more than they got, and why. */
  readonly rejections: ReadonlyMap<string, RejectSummary>;
}

const RESOURCE_REASONS: Readonly<Record<string, RejectReason>> = {
  cpus: 'InsufficientCpus',
  mem: 'InsufficientMemory',
  disk: 'InsufficientDisk',
  gpus: 'InsufficientGpus',
};

interface Slot {
  readonly offer: OfferView;
  free: Record<string, number>;
  ports: [number, number][];
}

export function matchOffers(
  requests: readonly LaunchRequest[],
  offers: readonly OfferView[],
  policy: PlacementPolicy,
  nowMs: number,
): MatchResult {
  const slots: Slot[] = offers.map((offer) => ({
    offer,
    free: { ...offer.free },
    ports: offer.ports.map(([a, b]) => [a, b]),
  }));
  const known = new Map<string, Set<string>>();
  const knownValues = (field: string): ReadonlySet<string> => {
    let values = known.get(field);
    if (values === undefined) {
      values = new Set();
      for (const { offer } of slots) {
        const value = field === 'hostname' ? offer.hostname : offer.attributes[field];
        if (value !== undefined) values.add(value);
      }
      known.set(field, values);
    }
    return values;
  };
  const capacity: Record<string, number> = {};
  for (const { offer } of slots)
    for (const [name, value] of Object.entries(offer.free))
      capacity[name] = (capacity[name] ?? 0) + value;
  const launches: MatchedLaunch[] = [];
  const rejections = new Map<string, RejectSummary>();
  for (const request of requests) {
    const placed: Site[] = [...request.placed];
    for (let n = 0; n < request.count; n++) {
      const reasons = new Map<RejectReason, number>();
      const details = new Map<string, number>();
      const candidates: Slot[] = [];
      for (const slot of slots) {
        const why = rejectReason(request, slot, placed, knownValues);
        if (why === undefined) candidates.push(slot);
        else {
          reasons.set(why.reason, (reasons.get(why.reason) ?? 0) + 1);
          details.set(why.detail, (details.get(why.detail) ?? 0) + 1);
        }
      }
      if (candidates.length === 0) {
        rejections.set(request.appId, {
          processed: slots.length,
          reasons,
          message:
            slots.length === 0
              ? 'no offers to place it on'
              : [...details]
                  .map(([detail, count]) => `${count} of ${slots.length} offers: ${detail}`)
                  .join('; '),
        });
        break;
      }
      const chosen = choose(policy, request, candidates, capacity, nowMs);
      for (const [name, value] of Object.entries(request.demand))
        chosen.free[name] = (chosen.free[name] ?? 0) - value;
      const hostPorts = takePorts(chosen.ports, request.ports);
      launches.push({ appId: request.appId, offer: chosen.offer, hostPorts });
      placed.push(chosen.offer);
    }
  }
  return { launches, rejections };
}

function rejectReason(
  request: LaunchRequest,
  slot: Slot,
  placed: readonly Site[],
  knownValues: (field: string) => ReadonlySet<string>,
): { reason: RejectReason; detail: string } | undefined {
  if (slot.offer.role !== request.role && slot.offer.role !== '*')
    return {
      reason: 'UnfulfilledRole',
      detail: `offered to role ${slot.offer.role}, not ${request.role}`,
    };
  for (const [name, value] of Object.entries(request.demand)) {
    if (value <= 0) continue;
    const free = slot.free[name] ?? 0;
    // Thousandths, as Mesos keeps scalars.
    if (Math.round(free * 1000) < Math.round(value * 1000))
      return {
        reason: RESOURCE_REASONS[name] ?? 'InsufficientResources',
        detail: `not enough ${name} (needs ${value}, has ${Math.round(free * 1000) / 1000})`,
      };
  }
  if (!hasPorts(slot.ports, request.ports))
    return {
      reason: 'InsufficientPorts',
      detail: `not enough ports (needs ${request.ports.map((p) => (p === 0 ? 'any' : p)).join(', ')})`,
    };
  const violated = violatedConstraint(request.constraints, slot.offer, placed, knownValues);
  if (violated !== undefined)
    return {
      reason: 'UnfulfilledConstraint',
      detail: `constraint ${constraintText(violated)} not met`,
    };
  return undefined;
}

function choose(
  policy: PlacementPolicy,
  request: LaunchRequest,
  candidates: readonly Slot[],
  capacity: Quantities,
  nowMs: number,
): Slot {
  const first = candidates[0];
  if (first === undefined) throw new Error('choose() needs a candidate');
  if (candidates.length === 1) return first;
  const [placement] = place(
    policy,
    [{ id: request.appId, demand: request.demand, submittedAtMs: request.submittedAtMs }],
    candidates.map((slot, i) => ({ id: String(i), free: slot.free })),
    { nowMs, clusterCapacity: capacity },
  );
  return candidates[Number(placement?.agentId ?? 0)] ?? first;
}

function hasPorts(
  ranges: readonly (readonly [number, number])[],
  wanted: readonly number[],
): boolean {
  const fixed = wanted.filter((p) => p !== 0);
  for (const port of fixed) if (!ranges.some(([a, b]) => port >= a && port <= b)) return false;
  let free = 0;
  for (const [a, b] of ranges) free += b - a + 1;
  return free >= wanted.length;
}

/** Takes the ports from `ranges` (mutated): fixed ones as asked, any ones lowest first. */
function takePorts(ranges: [number, number][], wanted: readonly number[]): number[] {
  const take = (port: number) => {
    const i = ranges.findIndex(([a, b]) => port >= a && port <= b);
    const range = ranges[i];
    if (range === undefined) throw new Error(`port ${port} is not free`);
    const [a, b] = range;
    const rest: [number, number][] = [];
    if (a < port) rest.push([a, port - 1]);
    if (port < b) rest.push([port + 1, b]);
    ranges.splice(i, 1, ...rest);
  };
  // Fixed ports first, so that a port taken for 'any' is never one asked for by number.
  for (const port of wanted) if (port !== 0) take(port);
  return wanted.map((port) => {
    if (port !== 0) return port;
    const range = ranges[0];
    if (range === undefined) throw new Error('no port left');
    take(range[0]);
    return range[0];
  });
}

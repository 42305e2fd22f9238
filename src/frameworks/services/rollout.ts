// What one app needs next, from its definition and its instances: how many
// to launch, which to kill, and whether its deployment is done. Pure, and
// called on every tick, so the answer always follows the latest state rather
// than a plan made at the start (Marathon's docs/docs/deployments.md).
//
// A rolling deploy (a config change, a restart, a rollback) honours the
// upgrade strategy: at least ceil(instances × minimumHealthCapacity) healthy
// instances at all times, at most instances + floor(instances ×
// maximumOverCapacity) of both versions together. When those leave no room at
// all (capacity 1 and over-capacity 0) one instance over is allowed, or the
// deploy could never start.
import type { AppDefinition } from './app-definition.js';
import { type Instance, isDeployed, isHealthy } from './instance.js';

export interface RolloutInput {
  readonly app: AppDefinition;
  readonly configVersion: string;
  readonly isDeleting: boolean;
  /** Whether a deployment replacing older versions is under way (not a forced cancel). */
  readonly isReplacing: boolean;
  /** The app's instances that are not being killed. */
  readonly alive: readonly Instance[];
  /** A deployment is under way and the app has a readiness check: new instances count once ready. */
  readonly needsReadiness?: boolean;
  /** A dependency's deployment is not done: this app's deployment waits (nothing launched or killed). */
  readonly isWaiting?: boolean;
}

export interface RolloutStep {
  readonly launch: number;
  readonly kill: readonly Instance[];
  /** Every instance is of the current version, there are `instances` of them, all healthy. */
  readonly isComplete: boolean;
  /** Changes only when the deploy moves forward: new instances healthy, or old ones gone. */
  readonly progressMark: string;
  readonly healthyCurrent: number;
  readonly old: number;
}

export function rolloutStep(input: RolloutInput): RolloutStep {
  const { app, alive } = input;
  if (input.isDeleting)
    return {
      launch: 0,
      kill: alive,
      isComplete: alive.length === 0,
      progressMark: `delete:${alive.length}`,
      healthyCurrent: 0,
      old: alive.length,
    };
  const target = app.instances;
  const counts = (i: Instance) => isDeployed(i, input.needsReadiness === true);
  const current = alive.filter((i) => i.configVersion === input.configVersion);
  const old = input.isReplacing ? alive.filter((i) => i.configVersion !== input.configVersion) : [];
  const healthyCurrent = current.filter(counts).length;
  if (input.isWaiting === true)
    return {
      launch: 0,
      kill: [],
      isComplete: false,
      progressMark: `waiting:${healthyCurrent}:${old.length}:${alive.length}`,
      healthyCurrent,
      old: old.length,
    };
  const kill: Instance[] = [];
  let launch: number;
  if (old.length === 0) {
    // Steady state, or a scale: exactly `instances` of whatever versions are there.
    const counted = input.isReplacing ? current : alive;
    if (counted.length > target)
      kill.push(...bySelection(counted, app).slice(0, counted.length - target));
    launch = Math.max(0, target - counted.length);
  } else {
    const minHealthy = Math.ceil(target * app.upgradeStrategy.minimumHealthCapacity);
    let maxTotal = target + Math.floor(target * app.upgradeStrategy.maximumOverCapacity);
    if (maxTotal <= target && minHealthy >= target) maxTotal = target + 1;
    // Old instances needed to keep the healthy minimum while the new are not yet healthy.
    const oldToKeep = Math.max(0, minHealthy - healthyCurrent);
    // Kill the unhealthy old first: they cost no healthy capacity, so the healthy
    // ones left are min(healthy old, oldToKeep) and the minimum holds.
    const oldByCost = [...old].sort((a, b) => Number(isHealthy(a)) - Number(isHealthy(b)));
    kill.push(...oldByCost.slice(0, Math.max(0, old.length - oldToKeep)));
    const remaining = old.length - kill.length;
    const room = maxTotal - (remaining + current.length);
    launch = Math.max(0, Math.min(target - current.length, room));
    if (current.length > target)
      kill.push(...bySelection(current, app).slice(0, current.length - target));
  }
  const isComplete =
    old.length === 0 &&
    kill.length === 0 &&
    launch === 0 &&
    (input.isReplacing ? current : alive).every(counts);
  return {
    launch,
    kill,
    isComplete,
    progressMark: `${healthyCurrent}:${old.length}:${alive.length}`,
    healthyCurrent,
    old: old.length,
  };
}

/** The instances to kill first, by the app's killSelection. */
function bySelection(instances: readonly Instance[], app: AppDefinition): Instance[] {
  const sorted = [...instances].sort((a, b) => a.stagedAtMs - b.stagedAtMs);
  return app.killSelection === 'YOUNGEST_FIRST' ? sorted.reverse() : sorted;
}

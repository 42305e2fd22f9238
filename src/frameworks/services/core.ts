// Long file: the services framework's whole pure core (apps, instances,
// deployments, backoff) in one class, so every invariant between them is kept
// in one place; rollout.ts, offer-matching.ts and constraints.ts hold its parts.
//
// The core does no I/O and reads no clock: commands, task updates and ticks go
// in with `nowMs`; out come kills and launch requests (as return values),
// events for /v2/events, and the store keys that changed (takeDirty()).
import type { PlacementPolicy } from '../../placement/index.js';
import type { TaskState } from '../../wire/index.js';
import {
  type AppDefinition,
  DEFAULT_UNREACHABLE_STRATEGY,
  dnsLabelOf,
  isConfigChange,
  type UnreachableStrategy,
} from './app-definition.js';
import { type Instance, isCrash, isHealthy, transition, unreachablePhase } from './instance.js';
import { HOST_NETWORKS, hostPortsOf } from './networks.js';
import {
  type LaunchRequest,
  type MatchedLaunch,
  matchOffers,
  type OfferView,
  type RejectSummary,
} from './offer-matching.js';
import { rolloutStep } from './rollout.js';

export interface AppState {
  readonly def: AppDefinition;
  readonly version: string;
  readonly configVersion: string;
  readonly scalingVersion: string;
  /** What a rollback returns to. */
  readonly previous:
    | { readonly def: AppDefinition; readonly version: string; readonly configVersion: string }
    | undefined;
  readonly isDeleting: boolean;
  readonly failures: number;
  readonly delayUntilMs: number;
  readonly lastFailure:
    | {
        readonly taskId: string;
        readonly state: string;
        readonly message: string;
        readonly atMs: number;
      }
    | undefined;
}

export type DeploymentKind = 'deploy' | 'scale' | 'restart' | 'delete' | 'rollback';

export interface Deployment {
  readonly id: string;
  readonly appId: string;
  readonly kind: DeploymentKind;
  readonly version: string;
  readonly startedAtMs: number;
  readonly lastProgressAtMs: number;
  readonly progressMark: string;
  /** Why it stopped moving, once it has been still for the stuck timeout. */
  readonly stuck: string | undefined;
  /** Set while a dependency's deployment holds this one back. */
  readonly waitingFor?: string;
}

/** Marathon's event bus (docs/docs/event-bus.md), as /v2/events sends it. */
export interface ServiceEvent {
  readonly eventType: string;
  readonly timestamp: string;
  readonly [field: string]: unknown;
}

export interface CoreOptions {
  readonly frameworkRole: string;
  readonly policy: PlacementPolicy;
  /** A deployment that makes no progress this long is reported stuck. */
  readonly stuckAfterMs: number;
  /** Unique ids (task and deployment ids). */
  readonly newId: () => string;
  /**
   * A deploy of a new definition reported stuck goes back to the app's previous
   * definition at once, as DELETE /v2/deployments/<id> would (not Marathon's
   * default: its stuck deployments wait for an operator).
   */
  readonly autoRollback?: boolean;
}

/** The last readiness answer of an instance, for /v2/deployments' readinessCheckResults. */
export interface ReadinessResult {
  readonly name: string;
  readonly taskId: string;
  readonly ready: boolean;
  readonly lastResponse: { readonly status: number; readonly body: string } | undefined;
}

export type CommandResult =
  | { readonly ok: true; readonly deploymentId: string; readonly version: string }
  | {
      readonly ok: false;
      readonly status: 404 | 409;
      readonly message: string;
      readonly deployments?: readonly string[];
    };

export interface Unplaced {
  readonly count: number;
  readonly sinceMs: number;
  readonly delayUntilMs: number;
  readonly rejection: (RejectSummary & { readonly atMs: number }) | undefined;
}

/** Kill an instance older than this after its first KILL went unanswered: send it again. */
const KILL_RETRY_MS = 30_000;

export class ServiceCore {
  readonly apps = new Map<string, AppState>();
  readonly instances = new Map<string, Instance>();
  readonly deployments = new Map<string, Deployment>();
  private readonly pending = new Map<string, Unplaced>();
  /** Not stored: readiness is checked again after a restart of the framework. */
  readonly readiness = new Map<string, ReadinessResult>();
  private dirty = new Set<string>();
  private events: ServiceEvent[] = [];
  private lastVersionMs = 0;

  constructor(private readonly options: CoreOptions) {}

  // ---- persistence -------------------------------------------------------

  /** Store keys changed since the last call; the shell writes serialize(key) for each. */
  takeDirty(): ReadonlySet<string> {
    const dirty = this.dirty;
    this.dirty = new Set();
    return dirty;
  }

  takeEvents(): ServiceEvent[] {
    const events = this.events;
    this.events = [];
    return events;
  }

  /** The stored text of `key`, or undefined when it is to be deleted. */
  serialize(key: string): string | undefined {
    const [kind, id] = splitKey(key);
    const value =
      kind === 'app'
        ? this.apps.get(id)
        : kind === 'instance'
          ? this.instances.get(id)
          : this.deployments.get(id);
    return value === undefined ? undefined : JSON.stringify(value);
  }

  /** Loads what a store held: apps, instances and deployments by key. */
  restore(entries: ReadonlyMap<string, string>): void {
    for (const [key, text] of entries) {
      const [kind, id] = splitKey(key);
      if (kind !== 'app' && kind !== 'instance' && kind !== 'deployment') continue;
      const value: unknown = JSON.parse(text);
      // An app stored before `networks` was kept has the host's.
      if (kind === 'app') this.apps.set(id, withNetworks(value as AppState));
      else if (kind === 'instance') this.instances.set(id, value as Instance);
      else if (kind === 'deployment') this.deployments.set(id, value as Deployment);
    }
    for (const app of this.apps.values())
      this.lastVersionMs = Math.max(this.lastVersionMs, Date.parse(app.version) || 0);
  }

  // ---- commands ----------------------------------------------------------

  /** Creates or replaces an app. A running deployment of it is a 409 unless `force`. */
  putApp(def: AppDefinition, nowMs: number, force: boolean): CommandResult {
    const existing = this.apps.get(def.id);
    const running = this.deploymentOf(def.id);
    if (running !== undefined && !force)
      return {
        ok: false,
        status: 409,
        message: `App is locked by one or more deployments. Override with the option '?force=true'.`,
        deployments: [running.id],
      };
    if (existing?.isDeleting === true && !force)
      return {
        ok: false,
        status: 409,
        message: `App ${def.id} is being deleted`,
        deployments: running === undefined ? [] : [running.id],
      };
    const version = this.newVersion(nowMs);
    const isChange =
      existing === undefined || existing.isDeleting || isConfigChange(existing.def, def);
    const app: AppState = {
      def,
      version,
      configVersion: isChange ? version : (existing?.configVersion ?? version),
      scalingVersion: version,
      previous:
        existing === undefined
          ? undefined
          : { def: existing.def, version: existing.version, configVersion: existing.configVersion },
      isDeleting: false,
      // A new definition starts without the old one's crash-loop delay.
      failures: isChange ? 0 : (existing?.failures ?? 0),
      delayUntilMs: isChange ? 0 : (existing?.delayUntilMs ?? 0),
      lastFailure: existing?.lastFailure,
    };
    this.setApp(app);
    const kind: DeploymentKind = existing === undefined || isChange ? 'deploy' : 'scale';
    return this.startDeployment(def.id, kind, version, nowMs, running);
  }

  restartApp(appId: string, nowMs: number, force: boolean): CommandResult {
    const app = this.apps.get(appId);
    if (app === undefined || app.isDeleting) return notFound(appId);
    const running = this.deploymentOf(appId);
    if (running !== undefined && !force)
      return {
        ok: false,
        status: 409,
        message: 'App is locked by one or more deployments.',
        deployments: [running.id],
      };
    const version = this.newVersion(nowMs);
    this.setApp({ ...app, version, configVersion: version, failures: 0, delayUntilMs: 0 });
    return this.startDeployment(appId, 'restart', version, nowMs, running);
  }

  /** Marathon's DELETE /v2/queue/{appId}/delay: launch again now, forgetting the crash-loop backoff. */
  resetDelay(appId: string): boolean {
    const app = this.apps.get(appId);
    if (app === undefined) return false;
    this.setApp({ ...app, failures: 0, delayUntilMs: 0 });
    return true;
  }

  deleteApp(appId: string, nowMs: number): CommandResult {
    const app = this.apps.get(appId);
    if (app === undefined || app.isDeleting) return notFound(appId);
    const version = this.newVersion(nowMs);
    this.setApp({ ...app, version, isDeleting: true });
    return this.startDeployment(appId, 'delete', version, nowMs, this.deploymentOf(appId));
  }

  /**
   * DELETE /v2/deployments/<id>: with `force` the deployment is only forgotten;
   * otherwise the app goes back to the definition it had before, as a new
   * rollback deployment (instances of that version are kept, not restarted).
   */
  cancelDeployment(id: string, force: boolean, nowMs: number): CommandResult {
    const deployment = this.deployments.get(id);
    if (deployment === undefined)
      return { ok: false, status: 404, message: `DeploymentPlan ${id} does not exist` };
    this.endDeployment(deployment, 'deployment_failed', nowMs);
    if (force) return { ok: true, deploymentId: id, version: deployment.version };
    const app = this.apps.get(deployment.appId);
    if (app === undefined) return notFound(deployment.appId);
    const version = this.newVersion(nowMs);
    const previous = app.previous;
    if (previous === undefined || (deployment.kind === 'delete' && app.isDeleting)) {
      // A first deployment has nothing to return to: rolling it back removes the app.
      if (previous === undefined) return this.deleteApp(app.def.id, nowMs);
      this.setApp({ ...app, version, isDeleting: false });
      return this.startDeployment(app.def.id, 'rollback', version, nowMs, undefined);
    }
    this.setApp({
      ...app,
      def: previous.def,
      version,
      configVersion: previous.configVersion,
      scalingVersion: version,
      previous: { def: app.def, version: app.version, configVersion: app.configVersion },
      isDeleting: false,
      failures: 0,
      delayUntilMs: 0,
    });
    return this.startDeployment(app.def.id, 'rollback', version, nowMs, undefined);
  }

  /**
   * Kills instances by id (POST /v2/tasks/delete, DELETE /v2/apps/<id>/tasks).
   * With `scale` the app's instance count goes down by as many, so they are not
   * replaced. Unknown ids are skipped; returns the instances killed.
   */
  killInstances(ids: readonly string[], scale: boolean, nowMs: number): Instance[] {
    const killed: Instance[] = [];
    for (const id of ids) {
      const instance = this.instances.get(id);
      if (instance === undefined || instance.isKillWanted) continue;
      killed.push(this.markKilled(instance, nowMs));
    }
    if (scale)
      for (const [appId, count] of countBy(killed.map((i) => i.appId))) {
        const app = this.apps.get(appId);
        if (app === undefined) continue;
        this.setApp({
          ...app,
          def: { ...app.def, instances: Math.max(0, app.def.instances - count) },
          version: this.newVersion(nowMs),
          scalingVersion: this.newVersion(nowMs),
        });
      }
    return killed;
  }

  // ---- task updates ------------------------------------------------------

  /**
   * A task's status. Returns 'kill' when the task is ours but no longer wanted
   * (an instance given up as lost that came back): the shell kills it.
   */
  statusUpdate(
    update: {
      readonly taskId: string;
      readonly state: TaskState;
      readonly healthy: boolean | undefined;
      readonly message: string | undefined;
      readonly agentId: string | undefined;
    },
    nowMs: number,
  ): 'kill' | undefined {
    const instance = this.instances.get(update.taskId);
    if (instance === undefined) {
      const isLive =
        update.state === 'TASK_RUNNING' ||
        update.state === 'TASK_STARTING' ||
        update.state === 'TASK_STAGING';
      return isLive ? 'kill' : undefined;
    }
    const moved = transition(instance, update.state, update.healthy, nowMs);
    this.emit(nowMs, 'status_update_event', {
      slaveId: instance.agentId,
      taskId: instance.id,
      taskStatus: update.state,
      message: update.message ?? '',
      appId: instance.appId,
      host: instance.hostname,
      ipAddresses: [{ ipAddress: instance.ip, protocol: 'IPv4' }],
      ports: instance.ports,
      version: instance.configVersion,
    });
    switch (moved.kind) {
      case 'refused':
        return undefined;
      case 'ended': {
        this.instances.delete(instance.id);
        this.readiness.delete(instance.id);
        this.dirty.add(`instance:${instance.id}`);
        const app = this.apps.get(instance.appId);
        if (app !== undefined && !instance.isKillWanted) {
          const failure = {
            taskId: instance.id,
            state: update.state,
            message: update.message ?? '',
            atMs: nowMs,
          };
          if (isCrash(update.state)) {
            const failures = app.failures + 1;
            const delaySeconds = Math.min(
              app.def.backoffSeconds * app.def.backoffFactor ** (failures - 1),
              app.def.maxLaunchDelaySeconds,
            );
            this.setApp({
              ...app,
              failures,
              delayUntilMs: nowMs + delaySeconds * 1000,
              lastFailure: failure,
            });
          } else this.setApp({ ...app, lastFailure: failure });
        }
        if (instance.hasHealthCheck && instance.healthy === true)
          this.healthChanged(instance, false, nowMs);
        return undefined;
      }
      case 'moved': {
        const next = moved.instance;
        if (next.state === 'TASK_UNREACHABLE' && instance.isKillWanted) {
          // Nothing left to wait for: it is killed if it ever comes back.
          this.expunge(instance, nowMs);
          return undefined;
        }
        this.instances.set(next.id, next);
        this.dirty.add(`instance:${next.id}`);
        if (next.state === 'TASK_UNREACHABLE' && instance.healthy === true)
          this.healthChanged(instance, false, nowMs);
        if (next.healthy !== instance.healthy && next.healthy !== undefined) {
          this.healthChanged(next, next.healthy, nowMs);
          const app = this.apps.get(next.appId);
          // Healthy again: the crash loop, if there was one, is over.
          if (next.healthy && app !== undefined && app.failures > 0)
            this.setApp({ ...app, failures: 0, delayUntilMs: 0 });
        }
        return undefined;
      }
    }
  }

  // ---- readiness -----------------------------------------------------------

  /**
   * Instances whose readiness the shell should check now: running (and
   * healthy, if checked for health), not yet ready, of an app with a readiness
   * check and a deployment under way.
   */
  readinessCandidates(): { instance: Instance; app: AppState }[] {
    const candidates: { instance: Instance; app: AppState }[] = [];
    const deploying = new Set<string>();
    for (const deployment of this.deployments.values())
      if (deployment.kind !== 'delete') deploying.add(deployment.appId);
    if (deploying.size === 0) return candidates;
    for (const instance of this.instances.values()) {
      if (instance.isReady === true || !deploying.has(instance.appId)) continue;
      const app = this.apps.get(instance.appId);
      if (app === undefined || app.def.readinessChecks.length === 0) continue;
      if (instance.configVersion !== app.configVersion || !isHealthy(instance)) continue;
      candidates.push({ instance, app });
    }
    return candidates;
  }

  /** A readiness answer (or failure) for an instance; ready sticks until the instance ends. */
  readinessResult(result: ReadinessResult, nowMs: number): void {
    const instance = this.instances.get(result.taskId);
    if (instance === undefined) return;
    this.readiness.set(result.taskId, result);
    if (!result.ready || instance.isReady === true) return;
    this.instances.set(instance.id, { ...instance, isReady: true });
    this.dirty.add(`instance:${instance.id}`);
    this.emit(nowMs, 'instance_changed_event', {
      instanceId: instance.id,
      appId: instance.appId,
      condition: 'Ready',
      runSpecVersion: instance.configVersion,
    });
  }

  // ---- the loop ------------------------------------------------------------

  /**
   * Moves every app toward its definition: returns the instances to kill now
   * (including KILLs to send again), and leaves launch counts for offers().
   */
  tick(nowMs: number): Instance[] {
    const kills: Instance[] = [];
    for (const instance of this.instances.values())
      if (instance.isKillWanted && (instance.killSentAtMs ?? 0) + KILL_RETRY_MS <= nowMs)
        kills.push(this.markKilled(instance, nowMs));
    const byApp = new Map<string, Instance[]>();
    for (const instance of [...this.instances.values()]) {
      if (instance.isKillWanted) continue;
      const phase = unreachablePhase(instance, this.unreachableStrategyOf(instance), nowMs);
      if (phase === 'expunged') {
        this.expunge(instance, nowMs);
        continue;
      }
      // Inactive: it no longer counts, so a replacement is launched; nor is it killed,
      // unless its app goes (then it is expunged through markKilled).
      const app = this.apps.get(instance.appId);
      if (phase === 'inactive' && app !== undefined && !app.isDeleting) continue;
      const list = byApp.get(instance.appId);
      if (list === undefined) byApp.set(instance.appId, [instance]);
      else list.push(instance);
    }
    // Instances of apps no longer known are killed.
    for (const [appId, alive] of byApp)
      if (!this.apps.has(appId)) for (const i of alive) kills.push(this.markKilled(i, nowMs));
    for (const app of [...this.apps.values()]) {
      const deployment = this.deploymentOf(app.def.id);
      const waitingFor =
        deployment === undefined || app.isDeleting ? undefined : this.blockingDependency(app);
      const step = rolloutStep({
        app: app.def,
        configVersion: app.configVersion,
        isDeleting: app.isDeleting,
        isReplacing: deployment !== undefined && deployment.kind !== 'scale',
        alive: byApp.get(app.def.id) ?? [],
        needsReadiness: deployment !== undefined && app.def.readinessChecks.length > 0,
        isWaiting: waitingFor !== undefined,
      });
      for (const instance of step.kill) kills.push(this.markKilled(instance, nowMs));
      this.setPending(app, step.launch, nowMs);
      const isGone = app.isDeleting && step.isComplete && !this.hasInstances(app.def.id);
      if (deployment !== undefined && waitingFor !== undefined)
        this.waitForDependency(deployment, waitingFor, nowMs);
      else if (deployment !== undefined) this.followDeployment(deployment, step, nowMs, isGone);
      if (isGone) {
        this.apps.delete(app.def.id);
        this.pending.delete(app.def.id);
        this.dirty.add(`app:${app.def.id}`);
        this.emit(nowMs, 'app_terminated_event', { appId: app.def.id });
      }
    }
    return kills;
  }

  /** What waits to be launched, for offer matching (apps in their launch delay wait). */
  launchRequests(nowMs: number): LaunchRequest[] {
    const requests: LaunchRequest[] = [];
    for (const [appId, unplaced] of this.pending) {
      const app = this.apps.get(appId);
      if (app === undefined || unplaced.count <= 0 || app.delayUntilMs > nowMs) continue;
      const def = app.def;
      requests.push({
        appId,
        count: unplaced.count,
        role: def.role ?? this.options.frameworkRole,
        demand: { cpus: def.cpus, mem: def.mem, disk: def.disk, gpus: def.gpus },
        ports: hostPortsOf(def).map((p) => p.request),
        constraints: def.constraints,
        placed: [...this.instances.values()].filter((i) => i.appId === appId && !i.isKillWanted),
        submittedAtMs: unplaced.sinceMs,
      });
    }
    return requests;
  }

  /** Whether any app waits for offers now or later (the shell revives or suppresses). */
  wantsOffers(): boolean {
    for (const unplaced of this.pending.values()) if (unplaced.count > 0) return true;
    return false;
  }

  /** Matches offers to what waits; records the new instances and the reasons for the rest. */
  offers(
    offers: readonly OfferView[],
    nowMs: number,
  ): { launches: Instance[]; byOffer: Map<string, Instance[]> } {
    const result = matchOffers(this.launchRequests(nowMs), offers, this.options.policy, nowMs);
    const launches = result.launches.map((match) => this.recordLaunch(match, nowMs));
    for (const [appId, rejection] of result.rejections) {
      const unplaced = this.pending.get(appId);
      if (unplaced !== undefined)
        this.pending.set(appId, { ...unplaced, rejection: { ...rejection, atMs: nowMs } });
    }
    const byOffer = new Map<string, Instance[]>();
    for (const [i, match] of result.launches.entries()) {
      const instance = launches[i];
      if (instance !== undefined)
        byOffer.set(match.offer.id, [...(byOffer.get(match.offer.id) ?? []), instance]);
    }
    return { launches, byOffer };
  }

  /** Apps waiting for launches: GET /v2/queue. */
  queue(): ReadonlyMap<string, Unplaced> {
    return this.pending;
  }

  deploymentOf(appId: string): Deployment | undefined {
    for (const deployment of this.deployments.values())
      if (deployment.appId === appId) return deployment;
    return undefined;
  }

  /**
   * The first of the app's dependencies whose own deployment is not done:
   * Marathon deploys an app after the apps it depends on (deployments.md).
   */
  private blockingDependency(app: AppState): string | undefined {
    if (app.def.dependencies.length === 0) return undefined;
    for (const dependency of app.def.dependencies)
      for (const running of this.deployments.values()) {
        // A dependency on a group is one on every app under it.
        const isOfIt = running.appId === dependency || running.appId.startsWith(`${dependency}/`);
        if (isOfIt && running.kind !== 'delete') return dependency;
      }
    return undefined;
  }

  /** A deployment waiting for a dependency's is not stuck: its clock starts when the wait ends. */
  private waitForDependency(deployment: Deployment, dependency: string, nowMs: number): void {
    const waiting = `waiting for ${dependency}`;
    if (deployment.waitingFor === waiting && nowMs - deployment.lastProgressAtMs < 1000) return;
    this.setDeployment({
      ...deployment,
      waitingFor: waiting,
      lastProgressAtMs: nowMs,
      stuck: undefined,
    });
  }

  private hasInstances(appId: string): boolean {
    for (const instance of this.instances.values()) if (instance.appId === appId) return true;
    return false;
  }

  instancesOf(appId: string): Instance[] {
    return [...this.instances.values()].filter((i) => i.appId === appId);
  }

  // ---- internals -----------------------------------------------------------

  private recordLaunch(match: MatchedLaunch, nowMs: number): Instance {
    const app = this.apps.get(match.appId);
    if (app === undefined) throw new Error(`launch for unknown app ${match.appId}`);
    const instance: Instance = {
      id: `${dnsLabelOf(match.appId)}.${this.options.newId()}`,
      appId: match.appId,
      configVersion: app.configVersion,
      agentId: match.offer.agentId,
      hostname: match.offer.hostname,
      attributes: match.offer.attributes,
      ip: match.offer.ip,
      ports: match.hostPorts,
      hasHealthCheck: app.def.healthChecks.length > 0,
      state: 'TASK_STAGING',
      healthy: undefined,
      isKillWanted: false,
      killSentAtMs: undefined,
      stagedAtMs: nowMs,
      startedAtMs: undefined,
    };
    this.instances.set(instance.id, instance);
    this.dirty.add(`instance:${instance.id}`);
    const unplaced = this.pending.get(match.appId);
    if (unplaced !== undefined)
      this.pending.set(match.appId, { ...unplaced, count: unplaced.count - 1 });
    return instance;
  }

  private setPending(app: AppState, count: number, nowMs: number): void {
    const before = this.pending.get(app.def.id);
    if (count <= 0) {
      this.pending.delete(app.def.id);
      return;
    }
    this.pending.set(app.def.id, {
      count,
      sinceMs: before?.sinceMs ?? nowMs,
      delayUntilMs: app.delayUntilMs,
      rejection: before?.rejection,
    });
  }

  private followDeployment(
    deployment: Deployment,
    step: ReturnType<typeof rolloutStep>,
    nowMs: number,
    isGone: boolean,
  ) {
    if (step.isComplete && (deployment.kind !== 'delete' || isGone)) {
      this.endDeployment(deployment, 'deployment_success', nowMs);
      return;
    }
    if (step.progressMark !== deployment.progressMark || deployment.waitingFor !== undefined) {
      const { waitingFor: _, ...moving } = deployment;
      this.setDeployment({
        ...moving,
        progressMark: step.progressMark,
        lastProgressAtMs: nowMs,
        stuck: undefined,
      });
      return;
    }
    if (
      deployment.stuck === undefined &&
      nowMs - deployment.lastProgressAtMs >= this.options.stuckAfterMs
    ) {
      const app = this.apps.get(deployment.appId);
      const failure = app?.lastFailure;
      const reason =
        `no progress for ${Math.round((nowMs - deployment.lastProgressAtMs) / 1000)} s: ` +
        `${step.healthyCurrent} of ${app?.def.instances ?? 0} new instances healthy, ${step.old} old left` +
        (failure !== undefined
          ? `; last failure: ${failure.taskId} ${failure.state} ${failure.message}`.trimEnd()
          : '') +
        (this.pending.get(deployment.appId)?.rejection !== undefined
          ? `; unplaced: ${this.pending.get(deployment.appId)?.rejection?.message}`
          : '');
      this.setDeployment({ ...deployment, stuck: reason });
      this.emit(nowMs, 'deployment_stuck', { id: deployment.id, appId: deployment.appId, reason });
      // A new definition only: a restart's or a scale's "previous" is not what it replaced.
      const isRollbackable = deployment.kind === 'deploy' && app?.previous !== undefined;
      if (this.options.autoRollback === true && isRollbackable) {
        const result = this.cancelDeployment(deployment.id, false, nowMs);
        if (result.ok)
          this.emit(nowMs, 'deployment_rolled_back', {
            id: deployment.id,
            appId: deployment.appId,
            rollbackDeploymentId: result.deploymentId,
            reason,
          });
      }
    }
  }

  private startDeployment(
    appId: string,
    kind: DeploymentKind,
    version: string,
    nowMs: number,
    replaced: Deployment | undefined,
  ): CommandResult {
    if (replaced !== undefined) this.endDeployment(replaced, 'deployment_failed', nowMs);
    const deployment: Deployment = {
      id: this.options.newId(),
      appId,
      kind,
      version,
      startedAtMs: nowMs,
      lastProgressAtMs: nowMs,
      progressMark: '',
      stuck: undefined,
    };
    this.setDeployment(deployment);
    this.emit(nowMs, 'deployment_info', {
      plan: { id: deployment.id, version, affectedApps: [appId] },
      currentStep: { actions: [{ action: actionOf(kind), app: appId }] },
    });
    return { ok: true, deploymentId: deployment.id, version };
  }

  private endDeployment(
    deployment: Deployment,
    eventType: 'deployment_success' | 'deployment_failed',
    nowMs: number,
  ) {
    this.deployments.delete(deployment.id);
    this.dirty.add(`deployment:${deployment.id}`);
    this.emit(nowMs, eventType, {
      id: deployment.id,
      plan: { id: deployment.id, version: deployment.version, affectedApps: [deployment.appId] },
    });
  }

  private markKilled(instance: Instance, nowMs: number): Instance {
    const next: Instance = { ...instance, isKillWanted: true, killSentAtMs: nowMs };
    // An unreachable instance cannot be asked now: forgotten, it is killed when it comes back
    // (statusUpdate answers 'kill' for a task it does not know). The KILL sent is harmless.
    if (instance.state === 'TASK_UNREACHABLE') {
      this.expunge(instance, nowMs);
      return next;
    }
    this.instances.set(next.id, next);
    this.dirty.add(`instance:${next.id}`);
    return next;
  }

  /** The app's unreachableStrategy (apps stored before it existed get Marathon's default). */
  private unreachableStrategyOf(instance: Instance): UnreachableStrategy {
    return this.apps.get(instance.appId)?.def.unreachableStrategy ?? DEFAULT_UNREACHABLE_STRATEGY;
  }

  /** Forgets an instance given up as unreachable (Marathon's expunge). */
  private expunge(instance: Instance, nowMs: number): void {
    this.instances.delete(instance.id);
    this.readiness.delete(instance.id);
    this.dirty.add(`instance:${instance.id}`);
    this.emit(nowMs, 'instance_changed_event', {
      instanceId: instance.id,
      appId: instance.appId,
      condition: 'Gone',
      runSpecVersion: instance.configVersion,
    });
  }

  private healthChanged(instance: Instance, alive: boolean, nowMs: number): void {
    this.emit(nowMs, 'health_status_changed_event', {
      appId: instance.appId,
      taskId: instance.id,
      instanceId: instance.id,
      version: instance.configVersion,
      alive,
    });
  }

  private setApp(app: AppState): void {
    this.apps.set(app.def.id, app);
    this.dirty.add(`app:${app.def.id}`);
  }

  private setDeployment(deployment: Deployment): void {
    this.deployments.set(deployment.id, deployment);
    this.dirty.add(`deployment:${deployment.id}`);
  }

  private emit(nowMs: number, eventType: string, fields: Record<string, unknown>): void {
    // Bounded: the shell drains events every tick; a core driven without one keeps the latest.
    if (this.events.length >= 10_000) this.events.shift();
    this.events.push({ eventType, timestamp: new Date(nowMs).toISOString(), ...fields });
  }

  /** ISO timestamps, strictly increasing, as Marathon's versions are. */
  private newVersion(nowMs: number): string {
    this.lastVersionMs = Math.max(nowMs, this.lastVersionMs + 1);
    return new Date(this.lastVersionMs).toISOString();
  }
}

export function isHealthyInstance(instance: Instance): boolean {
  return isHealthy(instance);
}

function actionOf(kind: DeploymentKind): string {
  switch (kind) {
    case 'deploy':
      return 'StartApplication';
    case 'scale':
      return 'ScaleApplication';
    case 'restart':
    case 'rollback':
      return 'RestartApplication';
    case 'delete':
      return 'StopApplication';
  }
}

export function deploymentAction(kind: DeploymentKind): string {
  return actionOf(kind);
}

function notFound(appId: string): CommandResult {
  return { ok: false, status: 404, message: `App '${appId}' does not exist` };
}

function countBy(values: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

function splitKey(key: string): [string, string] {
  const colon = key.indexOf(':');
  return [key.slice(0, colon), key.slice(colon + 1)];
}

/**
 * `app` as stored before `networks` was kept: the host's, as Marathon shows it (and as a
 * PUT of the same app gives, so that it is no change of config).
 */
function withNetworks(app: AppState): AppState {
  const fill = (def: AppDefinition): AppDefinition =>
    (def as Partial<AppDefinition>).networks !== undefined
      ? def
      : { ...def, networks: HOST_NETWORKS };
  const previous = app.previous;
  return {
    ...app,
    def: fill(app.def),
    previous: previous === undefined ? undefined : { ...previous, def: fill(previous.def) },
  };
}

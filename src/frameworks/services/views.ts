// The core's state as Marathon's REST API shows it (docs/docs/rest-api.md). Pure.
import type { AppState, Deployment, ServiceCore, Unplaced } from './core.js';
import { deploymentAction } from './core.js';
import { type Instance, isDeployed, isHealthy } from './instance.js';

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

export function taskView(instance: Instance): Record<string, unknown> {
  return {
    id: instance.id,
    appId: instance.appId,
    host: instance.hostname,
    ipAddresses: [{ ipAddress: instance.ip, protocol: 'IPv4' }],
    ports: instance.ports,
    servicePorts: [],
    slaveId: instance.agentId,
    state:
      instance.isKillWanted && instance.state !== 'TASK_KILLING' ? 'TASK_KILLING' : instance.state,
    stagedAt: iso(instance.stagedAtMs),
    startedAt: iso(instance.startedAtMs),
    version: instance.configVersion,
    healthCheckResults:
      instance.hasHealthCheck && instance.healthy !== undefined
        ? [
            {
              alive: instance.healthy && !instance.isKillWanted,
              taskId: instance.id,
              instanceId: instance.id,
            },
          ]
        : [],
    healthy: isHealthy(instance),
  };
}

export function appView(
  core: ServiceCore,
  app: AppState,
  embedTasks: boolean,
): Record<string, unknown> {
  const instances = core.instancesOf(app.def.id);
  const live = instances.filter((i) => !i.isKillWanted);
  const deployment = core.deploymentOf(app.def.id);
  const unplaced = core.queue().get(app.def.id);
  return {
    ...app.def,
    version: app.version,
    versionInfo: { lastScalingAt: app.scalingVersion, lastConfigChangeAt: app.configVersion },
    tasksStaged: live.filter((i) => i.state === 'TASK_STAGING' || i.state === 'TASK_STARTING')
      .length,
    tasksRunning: live.filter((i) => i.state === 'TASK_RUNNING').length,
    tasksHealthy: live.filter((i) => i.hasHealthCheck && isHealthy(i)).length,
    tasksUnhealthy: live.filter((i) => i.hasHealthCheck && i.healthy === false).length,
    deployments: deployment === undefined ? [] : [{ id: deployment.id }],
    ...(app.lastFailure !== undefined
      ? {
          lastTaskFailure: {
            appId: app.def.id,
            taskId: app.lastFailure.taskId,
            state: app.lastFailure.state,
            message: app.lastFailure.message,
            timestamp: iso(app.lastFailure.atMs),
            version: app.configVersion,
          },
        }
      : {}),
    ...(unplaced?.rejection !== undefined ? { waiting: unplaced.rejection.message } : {}),
    ...(embedTasks ? { tasks: instances.map(taskView) } : {}),
  };
}

export function deploymentView(core: ServiceCore, deployment: Deployment): Record<string, unknown> {
  const app = core.apps.get(deployment.appId);
  const action = { action: deploymentAction(deployment.kind), app: deployment.appId };
  const live = core.instancesOf(deployment.appId).filter((i) => !i.isKillWanted);
  const target = app?.def.instances ?? 0;
  const needsReadiness = (app?.def.readinessChecks.length ?? 0) > 0;
  const current = live.filter((i) => i.configVersion === app?.configVersion);
  const done = current.filter((i) => isDeployed(i, needsReadiness)).length;
  // Marathon lists the readiness answers of the new instances not yet ready.
  const readinessCheckResults = current.flatMap((i) => {
    const result = core.readiness.get(i.id);
    return result === undefined || i.isReady === true
      ? []
      : [
          {
            name: result.name,
            taskId: result.taskId,
            ready: result.ready,
            lastResponse: result.lastResponse ?? null,
          },
        ];
  });
  return {
    id: deployment.id,
    version: deployment.version,
    affectedApps: [deployment.appId],
    affectedPods: [],
    steps: [{ actions: [action] }],
    currentActions: [{ ...action, readinessCheckResults }],
    currentStep: 1,
    totalSteps: 1,
    // Agora's own: how far along it is, and why it stopped if it did.
    progress: { healthy: Math.min(done, target), target },
    startedAt: iso(deployment.startedAtMs),
    ...(deployment.stuck !== undefined ? { stuck: deployment.stuck } : {}),
    ...(deployment.waitingFor !== undefined ? { waiting: deployment.waitingFor } : {}),
  };
}

const REASONS = [
  'UnfulfilledRole',
  'UnfulfilledConstraint',
  'InsufficientCpus',
  'InsufficientMemory',
  'InsufficientDisk',
  'InsufficientGpus',
  'InsufficientPorts',
] as const;

export function queueView(core: ServiceCore, nowMs: number): Record<string, unknown> {
  const queue: Record<string, unknown>[] = [];
  for (const [appId, unplaced] of core.queue()) {
    const app = core.apps.get(appId);
    if (app === undefined) continue;
    queue.push(queueEntry(core, app, unplaced, nowMs));
  }
  return { queue };
}

function queueEntry(core: ServiceCore, app: AppState, unplaced: Unplaced, nowMs: number) {
  const rejection = unplaced.rejection;
  const timeLeftMs = Math.max(0, app.delayUntilMs - nowMs);
  return {
    count: unplaced.count,
    delay: { timeLeftSeconds: Math.ceil(timeLeftMs / 1000), overdue: timeLeftMs === 0 },
    since: iso(unplaced.sinceMs),
    app: appView(core, app, false),
    processedOffersSummary: {
      processedOffersCount: rejection?.processed ?? 0,
      unusedOffersCount: rejection?.processed ?? 0,
      ...(rejection !== undefined ? { lastUnusedOfferAt: iso(rejection.atMs) } : {}),
      rejectSummaryLastOffers: REASONS.map((reason) => ({
        reason,
        declined: rejection?.reasons.get(reason) ?? 0,
        processed: rejection?.processed ?? 0,
      })),
    },
    // Agora's own: the reason in one line.
    ...(rejection !== undefined ? { why: rejection.message } : {}),
  };
}

/** /v2/groups: the tree the app ids make. */
export function groupView(core: ServiceCore, groupId: string): Record<string, unknown> | undefined {
  const prefix = groupId === '/' ? '/' : `${groupId}/`;
  const apps = [...core.apps.values()].filter((a) => a.def.id.startsWith(prefix));
  if (apps.length === 0 && groupId !== '/') return undefined;
  const direct = apps.filter((a) => !a.def.id.slice(prefix.length).includes('/'));
  const subgroups = new Set(
    apps
      .filter((a) => a.def.id.slice(prefix.length).includes('/'))
      .map((a) => `${prefix}${a.def.id.slice(prefix.length).split('/')[0]}`),
  );
  return {
    id: groupId,
    apps: direct.map((a) => appView(core, a, false)),
    groups: [...subgroups].sort().map((id) => groupView(core, id)),
    pods: [],
    dependencies: [],
    version: apps
      .map((a) => a.version)
      .sort()
      .at(-1),
  };
}

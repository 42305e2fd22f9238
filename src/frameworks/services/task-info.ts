// From the wire to the core and back: an Offer as the core reads it, and the
// TaskInfo an instance is launched with (its resources cut from the offer's
// own entries, so allocation and reservation stay as offered). Pure.
import {
  type AgentID,
  type HealthCheck,
  taskId as mintTaskId,
  type Offer,
  type Resource,
  type TaskID,
  type TaskInfo,
} from '../../wire/index.js';
import { domainAttributes } from '../domain-attributes.js';
import type { AppDefinition, HealthCheckDefinition } from './app-definition.js';
import { mesosContainerOf } from './container.js';
import { commandUris } from './fetch.js';
import type { Instance } from './instance.js';
import { hostPortsOf } from './networks.js';
import type { OfferView } from './offer-matching.js';

export function offerView(offer: Offer): OfferView {
  const free: Record<string, number> = {};
  const ports: [number, number][] = [];
  let role = '*';
  for (const resource of offer.resources) {
    role = resource.allocation_info?.role ?? role;
    if (resource.type === 'SCALAR' && resource.scalar !== undefined)
      free[resource.name] = (free[resource.name] ?? 0) + resource.scalar.value;
    if (resource.name === 'ports' && resource.ranges !== undefined)
      for (const range of resource.ranges.range) ports.push([range.begin, range.end]);
  }
  ports.sort((a, b) => a[0] - b[0]);
  const attributes: Record<string, string> = {};
  for (const attribute of offer.attributes ?? []) {
    const text =
      attribute.text?.value ??
      (attribute.scalar !== undefined ? String(attribute.scalar.value) : undefined) ??
      attribute.set?.item?.join(',') ??
      attribute.ranges?.range.map((r) => `[${r.begin}-${r.end}]`).join(',');
    if (text !== undefined) attributes[attribute.name] = text;
  }
  Object.assign(attributes, domainAttributes(offer));
  const address = offer.url.address;
  return {
    id: offer.id.value,
    agentId: offer.agent_id.value,
    hostname: offer.hostname,
    ip: address.ip ?? address.hostname ?? offer.hostname,
    role: offer.allocation_info?.role ?? role,
    attributes,
    free,
    ports,
  };
}

/** The offer's resources an instance takes: each demand from the first entry that holds it. */
export function cutResources(
  offer: Offer,
  app: AppDefinition,
  hostPorts: readonly number[],
): Resource[] {
  const taken: Resource[] = [];
  const demand: [string, number][] = [
    ['cpus', app.cpus],
    ['mem', app.mem],
    ['disk', app.disk],
    ['gpus', app.gpus],
  ];
  for (const [name, amount] of demand) {
    if (amount <= 0) continue;
    const entry = offer.resources.find(
      (r) =>
        r.name === name &&
        r.scalar !== undefined &&
        r.scalar.value + 1e-9 >= amount &&
        r.disk === undefined,
    );
    if (entry !== undefined) taken.push({ ...entry, scalar: { value: amount } });
  }
  const byEntry = new Map<Resource, number[]>();
  for (const port of hostPorts) {
    const entry = offer.resources.find(
      (r) =>
        r.name === 'ports' &&
        r.ranges?.range.some((range) => port >= range.begin && port <= range.end),
    );
    if (entry !== undefined) byEntry.set(entry, [...(byEntry.get(entry) ?? []), port]);
  }
  for (const [entry, ports] of byEntry)
    taken.push({ ...entry, ranges: { range: ports.map((p) => ({ begin: p, end: p })) } });
  return taken;
}

export function portEnvironment(app: AppDefinition, instance: Instance): Record<string, string> {
  const env: Record<string, string> = {
    HOST: instance.hostname,
    MARATHON_APP_ID: app.id,
    MARATHON_APP_VERSION: instance.configVersion,
    AGORA_INSTANCE_ID: instance.id,
  };
  if (instance.ports.length > 0) {
    env.PORT = String(instance.ports[0]);
    env.PORTS = instance.ports.join(',');
  }
  const definitions = hostPortsOf(app);
  for (const [i, port] of instance.ports.entries()) {
    env[`PORT${i}`] = String(port);
    const definition = definitions[i];
    if (definition !== undefined && definition.label !== 0)
      env[`PORT_${definition.label}`] = String(port);
    if (definition?.name !== undefined)
      env[`PORT_${definition.name.toUpperCase().replace(/-/g, '_')}`] = String(port);
  }
  return env;
}

function healthCheckOf(check: HealthCheckDefinition, ports: readonly number[]): HealthCheck {
  const timing = {
    delay_seconds: check.delaySeconds,
    interval_seconds: check.intervalSeconds,
    timeout_seconds: check.timeoutSeconds,
    consecutive_failures: check.maxConsecutiveFailures,
    grace_period_seconds: check.gracePeriodSeconds,
  };
  const port = check.port ?? ports[check.portIndex ?? 0] ?? 0;
  switch (check.protocol) {
    case 'COMMAND':
      return {
        type: 'COMMAND',
        command: { shell: true, value: check.command?.value ?? 'true' },
        ...timing,
      };
    case 'TCP':
    case 'MESOS_TCP':
      return { type: 'TCP', tcp: { port }, ...timing };
    case 'HTTP':
    case 'MESOS_HTTP':
      return { type: 'HTTP', http: { port, path: check.path ?? '/' }, ...timing };
    case 'HTTPS':
    case 'MESOS_HTTPS':
      return { type: 'HTTP', http: { port, scheme: 'https', path: check.path ?? '/' }, ...timing };
  }
}

export function taskInfoOf(app: AppDefinition, instance: Instance, offer: Offer): TaskInfo {
  const env = { ...portEnvironment(app, instance), ...app.env };
  const variables = Object.entries(env).map(([name, value]) => ({ name, value }));
  const uris = commandUris(app.uris, app.fetch);
  const command =
    app.args !== undefined
      ? { shell: false, value: app.args[0] ?? '', arguments: app.args }
      : { shell: true, value: app.cmd ?? '' };
  const check = app.healthChecks[0];
  const labels = Object.entries(app.labels).map(([key, value]) => ({ key, value }));
  return {
    name: instance.id.slice(0, instance.id.lastIndexOf('.')),
    task_id: mintTaskId(instance.id) as TaskID,
    agent_id: { value: instance.agentId } as AgentID,
    resources: cutResources(offer, app, instance.ports),
    command: {
      ...command,
      environment: { variables },
      ...(uris.length > 0 ? { uris } : {}),
      ...(app.user !== undefined ? { user: app.user } : {}),
    },
    ...(app.container !== undefined
      ? { container: mesosContainerOf(app.container, instance.ports, app.networks) }
      : {}),
    ...(check !== undefined ? { health_check: healthCheckOf(check, instance.ports) } : {}),
    ...(labels.length > 0 ? { labels: { labels } } : {}),
  };
}

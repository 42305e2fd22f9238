// A master and agents on the edge network bed (netbed.ts): the master in its
// namespace on port 5050, each agent in its own on 5051 (namespaces make fixed
// ports safe), reaching the master through the router's NAT, directly or
// through a shaping relay (relay.ts). The test reaches the master over the
// operator link only.
import { once } from 'node:events';
import { join } from 'node:path';
import { AGORA, ROOT, waitFor } from '../integration/harness.js';
import type { BedProcess, NetBed } from './netbed.js';

export const MASTER_PORT = 5050;
export const AGENT_PORT = 5051;
const RELAY = join(ROOT, 'test', 'edge', 'relay.ts');

/** Waits for a daemon's `listening` line; rejects with its output if it exits first. */
async function listening(proc: BedProcess, timeoutMs = 30_000): Promise<string> {
  let hasExited = false;
  void proc.exited.then(() => (hasExited = true));
  return waitFor(
    `${proc.name} to listen`,
    () => {
      if (hasExited) throw new Error(`${proc.name} exited: ${proc.other.slice(-20).join('\n')}`);
      const line = proc.lines.find((l) => l.msg === 'listening');
      return typeof line?.url === 'string' ? line.url : undefined;
    },
    timeoutMs,
  );
}

/** Starts the master in the bed's master namespace; resolves with its URL on the operator link. */
export async function startMaster(
  bed: NetBed,
  args: readonly string[] = [],
): Promise<{ proc: BedProcess; url: string }> {
  const proc = bed.spawnIn(bed.masterNs, 'master', [
    process.execPath,
    AGORA,
    'master',
    '--ip',
    '0.0.0.0',
    '--advertise_ip',
    bed.masterIp,
    '--port',
    String(MASTER_PORT),
    '--registry',
    'in_memory',
    '--log_level',
    'debug',
    ...args,
  ]);
  await listening(proc);
  return { proc, url: `http://${bed.masterOperatorIp}:${MASTER_PORT}` };
}

export interface AgentStart {
  /** Where the agent's --master points: the master through NAT, or a relay in the router. */
  readonly masterAddress: string;
  readonly workDir: string;
  readonly args?: readonly string[];
}

/** Starts agent `index` in its namespace (no cgroups isolation: not what these tests are about). */
export async function startAgent(
  bed: NetBed,
  index: number,
  start: AgentStart,
): Promise<BedProcess> {
  const host = bed.host(index);
  const proc = bed.spawnIn(host.ns, `agent-${index}`, [
    process.execPath,
    AGORA,
    'agent',
    '--master',
    start.masterAddress,
    '--ip',
    '0.0.0.0',
    '--advertise_ip',
    host.ip,
    '--hostname',
    `edge-${index}`,
    '--port',
    String(AGENT_PORT),
    '--work_dir',
    start.workDir,
    '--resources',
    'cpus:2;mem:1024;disk:1024',
    '--isolation',
    'posix/cpu,posix/mem',
    // The tests' frameworks name users this host may not have.
    '--switch_user=false',
    '--log_level',
    'debug',
    ...(start.args ?? []),
  ]);
  await listening(proc);
  return proc;
}

/** A shaping relay in the router namespace, on agent `index`'s gateway address. */
export class Relay {
  private constructor(
    readonly proc: BedProcess,
    /** `host:port` for an agent's --master. */
    readonly address: string,
  ) {}

  static async start(bed: NetBed, index: number, targetPort = MASTER_PORT): Promise<Relay> {
    const host = bed.host(index);
    const proc = bed.spawnIn(
      bed.routerNs,
      `relay-${index}`,
      [
        process.execPath,
        '--import',
        'tsx',
        RELAY,
        JSON.stringify({
          listen: { host: host.gatewayIp, port: 0 },
          target: { host: bed.masterIp, port: targetPort },
        }),
      ],
      { ...process.env, NODE_OPTIONS: '' },
    );
    const port = await waitFor(`relay ${index} to listen`, () => {
      const line = proc.lines.find((l) => l.event === 'listening');
      return typeof line?.port === 'number' ? line.port : undefined;
    });
    return new Relay(proc, `${host.gatewayIp}:${port}`);
  }

  /** Sends a command and waits for the relay to confirm it. */
  async command(cmd: Record<string, unknown>): Promise<Record<string, unknown>> {
    const stdin = this.proc.child.stdin;
    if (stdin === null) throw new Error('relay has no stdin');
    const seen = this.proc.lines.length;
    if (!stdin.write(`${JSON.stringify(cmd)}\n`)) await once(stdin, 'drain');
    return waitFor(`relay to do ${String(cmd.cmd)}`, () =>
      this.proc.lines
        .slice(seen)
        .find((l) => l.event === 'done' || l.event === 'stats' || l.event === 'error'),
    );
  }

  async stats(): Promise<{
    accepted: number;
    resets: number;
    frozen: number;
    open: number;
    bytesForwarded: number;
  }> {
    return (await this.command({ cmd: 'stats' })) as unknown as {
      accepted: number;
      resets: number;
      frozen: number;
      open: number;
      bytesForwarded: number;
    };
  }
}

export interface Probe {
  readonly status?: number;
  readonly ms: number;
  readonly error?: string;
  readonly body?: string;
}

/**
 * One HTTP GET made from inside namespace `ns` (the test process cannot reach
 * an agent: it sits behind NAT): the status, the body and the time it took,
 * or the error.
 */
export async function getFrom(
  bed: NetBed,
  ns: string,
  url: string,
  timeoutMs: number,
): Promise<Probe> {
  const script = `const t=performance.now();fetch(${JSON.stringify(url)},{signal:AbortSignal.timeout(${timeoutMs})}).then(async r=>{const body=await r.text();console.log(JSON.stringify({status:r.status,ms:performance.now()-t,body}))},e=>console.log(JSON.stringify({error:String(e.cause?.code??e.name),ms:performance.now()-t})))`;
  const proc = bed.spawnIn(ns, 'probe', [process.execPath, '-e', script]);
  await proc.exited;
  const [line] = proc.lines;
  if (line === undefined) throw new Error(`probe printed nothing: ${proc.other.join('\n')}`);
  return line as unknown as Probe;
}

/** The agent's /metrics/snapshot, read from inside its namespace. */
export async function agentMetrics(bed: NetBed, index: number): Promise<Record<string, number>> {
  const probe = await getFrom(
    bed,
    bed.host(index).ns,
    `http://127.0.0.1:${AGENT_PORT}/metrics/snapshot`,
    5000,
  );
  if (probe.status !== 200 || probe.body === undefined)
    throw new Error(`agent metrics: ${JSON.stringify(probe)}`);
  return JSON.parse(probe.body) as Record<string, number>;
}

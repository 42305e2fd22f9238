// A small multi-host network on this one machine, for edge tests (#15): a
// router namespace; the master in a namespace of its own behind it; each agent
// in its own namespace on its own subnet, reaching the master through the
// router, which masquerades (NAT) and never forwards a connection the other way.
// The test process itself talks to the master over a separate operator link (a
// veth from the root namespace straight into the master's namespace), so a
// partition cuts agents off the master, never the test off its framework.
//
//   root ns ──op link── master ns ── router ns ──┬── agent-1 ns
//   10.B.250.1       10.B.250.2   10.B.0.2  10.B.0.1  10.B.1.1 ── 10.B.1.2
//                                                  └── agent-2 ns   10.B.2.2 …
//
// Partitions are nftables drop rules in the router (an agent's router-side
// interface put in a set that every hook drops). Delay, jitter, stalls and
// resets come from relay.ts, a userspace TCP relay run in the router
// namespace (the kernel here has no netem). Every address is inside the
// namespaces made here; stop() kills what was started here by PID (and any
// process left inside these namespaces, such as tasks), then deletes them.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** How long a process gets after SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 10_000;
/** The router-side interface names of agent links are kept in this nftables set while cut. */
const NFT_TABLE = 'agora_edge';

export interface NetBedOptions {
  /** How many agent namespaces (each its own subnet behind the router). */
  readonly agents: number;
}

/** A process started inside one of the bed's namespaces. */
export interface BedProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Its stdout, one JSON object per line (non-JSON lines go to `other`). */
  readonly lines: Record<string, unknown>[];
  readonly other: string[];
  readonly exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface AgentHost {
  readonly index: number;
  readonly ns: string;
  /** The agent's address on its own subnet. */
  readonly ip: string;
  /** The router's address on the agent's subnet: where the agent's relay listens. */
  readonly gatewayIp: string;
  /** The router's end of the link, the interface a partition cuts. */
  readonly routerIf: string;
}

export class NetBed {
  readonly routerNs: string;
  readonly masterNs: string;
  /** The master's address on the router's subnet (agents reach it through NAT). */
  readonly masterIp: string;
  /** The master's address on the operator link, reached by the test process. */
  readonly masterOperatorIp: string;
  readonly agentHosts: readonly AgentHost[];
  private readonly namespaces: string[] = [];
  private readonly processes: BedProcess[] = [];
  private isStopped = false;

  private constructor(
    readonly id: string,
    readonly octet: number,
    agents: number,
  ) {
    this.routerNs = `ag${id}-r`;
    this.masterNs = `ag${id}-m`;
    this.masterIp = `10.${octet}.0.2`;
    this.masterOperatorIp = `10.${octet}.250.2`;
    this.agentHosts = Array.from({ length: agents }, (_, k) => {
      const index = k + 1;
      return {
        index,
        ns: `ag${id}-a${index}`,
        ip: `10.${octet}.${index}.2`,
        gatewayIp: `10.${octet}.${index}.1`,
        routerIf: `ag${id}r${index}`,
      };
    });
  }

  /**
   * Builds the network. Rejects (after undoing what it made) if the kernel
   * refuses a step; `probe()` tells beforehand whether it can work at all.
   */
  static async create(options: NetBedOptions): Promise<NetBed> {
    if (options.agents < 1 || options.agents > 200) throw new Error('agents: expected 1 to 200');
    const id = Math.floor(Math.random() * 0xffff)
      .toString(16)
      .padStart(4, '0');
    const bed = new NetBed(id, await freeOctet(), options.agents);
    try {
      await bed.build();
    } catch (error) {
      await bed.stop();
      throw error;
    }
    return bed;
  }

  /** undefined when namespaces, veths and nftables work here; otherwise why not. */
  static async probe(): Promise<string | undefined> {
    if (process.getuid?.() !== 0) return 'not root';
    for (const tool of ['ip', 'nft', 'nsenter'])
      if (!['/usr/sbin', '/usr/bin', '/sbin', '/bin'].some((d) => existsSync(join(d, tool))))
        return `${tool} is not installed (apt-get install iproute2 nftables util-linux)`;
    const ns = `agprobe${process.pid}`;
    try {
      await run('ip', ['netns', 'add', ns]);
      await run('ip', ['-n', ns, 'link', 'add', 'pa0', 'type', 'veth', 'peer', 'name', 'pa1']);
      await run('ip', ['netns', 'exec', ns, 'nft', 'add', 'table', 'inet', 'probe']);
      return undefined;
    } catch (error) {
      return `the kernel refused: ${(error as Error).message.split('\n')[0]}`;
    } finally {
      await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    }
  }

  private async build(): Promise<void> {
    const o = this.octet;
    await this.addNs(this.routerNs);
    await this.addNs(this.masterNs);
    // Router <-> master.
    await this.veth(
      `ag${this.id}rm`,
      this.routerNs,
      `10.${o}.0.1/24`,
      'mr',
      this.masterNs,
      `${this.masterIp}/24`,
    );
    // Root (the test) <-> master: the operator link, outside the router's reach.
    await run('ip', [
      'link',
      'add',
      `ag${this.id}op`,
      'type',
      'veth',
      'peer',
      'name',
      `ag${this.id}om`,
    ]);
    await run('ip', ['link', 'set', `ag${this.id}om`, 'netns', this.masterNs]);
    await run('ip', ['addr', 'add', `10.${o}.250.1/30`, 'dev', `ag${this.id}op`]);
    await run('ip', ['link', 'set', `ag${this.id}op`, 'up']);
    await run('ip', [
      '-n',
      this.masterNs,
      'addr',
      'add',
      `${this.masterOperatorIp}/30`,
      'dev',
      `ag${this.id}om`,
    ]);
    await run('ip', ['-n', this.masterNs, 'link', 'set', `ag${this.id}om`, 'up']);
    for (const host of this.agentHosts) {
      await this.addNs(host.ns);
      await this.veth(
        host.routerIf,
        this.routerNs,
        `${host.gatewayIp}/24`,
        'ar',
        host.ns,
        `${host.ip}/24`,
      );
      await run('ip', ['-n', host.ns, 'route', 'add', 'default', 'via', host.gatewayIp]);
    }
    await this.inNs(this.routerNs, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    const masterSide = `ag${this.id}rm`;
    // Masquerade towards the master: it sees the router, never an agent's address.
    // Forwarding: nothing new from the master's side (agents open every connection);
    // any interface in @cut drops everything, on every hook (the relay's traffic
    // is the router's own: input and output).
    const ruleset = `
table inet ${NFT_TABLE} {
  set cut { type ifname; }
  chain input { type filter hook input priority 0; policy accept;
    iifname @cut drop
  }
  chain output { type filter hook output priority 0; policy accept;
    oifname @cut drop
  }
  chain forward { type filter hook forward priority 0; policy accept;
    iifname @cut drop
    oifname @cut drop
    iifname "${masterSide}" ct state new drop
  }
  chain postrouting { type nat hook postrouting priority 100; policy accept;
    oifname "${masterSide}" masquerade
  }
}`;
    await this.inNs(this.routerNs, 'nft', ['-f', '-'], ruleset);
  }

  /** Cuts agent `index` off: every packet to or from its link is dropped in the router. */
  async partition(index: number): Promise<void> {
    await this.nftElement('add', this.host(index).routerIf);
  }

  /** Restores agent `index`'s link. */
  async heal(index: number): Promise<void> {
    await this.nftElement('delete', this.host(index).routerIf);
  }

  /** The interfaces currently cut, as the router's nftables set holds them. */
  async cut(): Promise<string[]> {
    const { stdout } = await run('ip', [
      'netns',
      'exec',
      this.routerNs,
      'nft',
      '-j',
      'list',
      'set',
      'inet',
      NFT_TABLE,
      'cut',
    ]);
    const parsed = JSON.parse(stdout) as { nftables: { set?: { elem?: string[] } }[] };
    return parsed.nftables.flatMap((entry) => entry.set?.elem ?? []);
  }

  host(index: number): AgentHost {
    const host = this.agentHosts[index - 1];
    if (host === undefined) throw new Error(`no agent host ${index}`);
    return host;
  }

  /**
   * Starts `argv` inside namespace `ns` (only its network namespace: mounts and
   * cgroups stay the machine's). Its PID is the command's own (nsenter execs).
   */
  spawnIn(
    ns: string,
    name: string,
    argv: readonly string[],
    env: NodeJS.ProcessEnv = process.env,
  ): BedProcess {
    if (this.isStopped) throw new Error('the bed is stopped');
    const [command, ...args] = argv;
    if (command === undefined) throw new Error('empty argv');
    const child = spawn('nsenter', [`--net=/run/netns/${ns}`, '--', command, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env,
    });
    const exited = once(child, 'exit').then(([code]) => code as number | null);
    let hasExited = false;
    void exited.then(() => (hasExited = true));
    const lines: Record<string, unknown>[] = [];
    const other: string[] = [];
    if (child.stdout !== null)
      createInterface({ input: child.stdout }).on('line', (line) => {
        try {
          lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          other.push(line);
        }
      });
    if (child.stderr !== null)
      createInterface({ input: child.stderr }).on('line', (line) => other.push(line));
    const proc: BedProcess = {
      name,
      pid: child.pid ?? -1,
      child,
      lines,
      other,
      exited,
      // An agent leaves its tasks running on SIGTERM; SIGUSR1 stops them with it.
      async stop(signal: NodeJS.Signals = argv.includes('agent') ? 'SIGUSR1' : 'SIGTERM') {
        if (!hasExited) child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        try {
          return await exited;
        } finally {
          clearTimeout(timer);
        }
      },
    };
    this.processes.push(proc);
    return proc;
  }

  /**
   * Stops every process started here (by PID, last started first), kills any
   * process still inside the bed's namespaces (tasks the agents left), and
   * deletes the namespaces (their veths and nftables go with them). Idempotent.
   */
  async stop(): Promise<void> {
    if (this.isStopped) return;
    this.isStopped = true;
    for (const proc of [...this.processes].reverse()) await proc.stop().catch(() => undefined);
    for (let attempt = 0; attempt < 50; attempt++) {
      const left = this.processesInside();
      if (left.length === 0) break;
      for (const pid of left)
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const ns of [...this.namespaces].reverse())
      await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    // The operator link's root end goes with its peer; this is only for a half-built bed.
    await run('ip', ['link', 'del', `ag${this.id}op`]).catch(() => undefined);
  }

  /** What of the bed is still there (namespaces, links): empty after stop(). */
  async leftovers(): Promise<string[]> {
    const { stdout: nsList } = await run('ip', ['netns', 'list']);
    const { stdout: links } = await run('ip', ['-o', 'link']);
    const prefix = `ag${this.id}`;
    return [
      ...nsList.split('\n').filter((l) => l.startsWith(prefix)),
      ...links.split('\n').filter((l) => l.includes(`${prefix}`)),
      ...this.processesInside().map((pid) => `pid ${pid}`),
    ];
  }

  /** PIDs of processes whose network namespace is one of the bed's. */
  processesInside(): number[] {
    const inodes = new Set<string>();
    for (const ns of this.namespaces)
      try {
        inodes.add(`net:[${statSync(`/run/netns/${ns}`).ino}]`);
      } catch {
        // Deleted already.
      }
    if (inodes.size === 0) return [];
    const found: number[] = [];
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        if (inodes.has(readlinkSync(`/proc/${name}/ns/net`))) found.push(Number(name));
      } catch {
        // Ended while we looked, or a kernel thread.
      }
    }
    return found;
  }

  private async addNs(ns: string): Promise<void> {
    await run('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }

  /** A veth pair made inside `nsA`, its other end moved to `nsB`, both addressed and up. */
  private async veth(
    ifA: string,
    nsA: string,
    addrA: string,
    tagB: string,
    nsB: string,
    addrB: string,
  ): Promise<void> {
    const ifB = `${ifA}${tagB}`.slice(0, 15);
    await run('ip', [
      '-n',
      nsA,
      'link',
      'add',
      ifA,
      'type',
      'veth',
      'peer',
      'name',
      ifB,
      'netns',
      nsB,
    ]);
    await run('ip', ['-n', nsA, 'addr', 'add', addrA, 'dev', ifA]);
    await run('ip', ['-n', nsB, 'addr', 'add', addrB, 'dev', ifB]);
    await run('ip', ['-n', nsA, 'link', 'set', ifA, 'up']);
    await run('ip', ['-n', nsB, 'link', 'set', ifB, 'up']);
  }

  private async nftElement(op: 'add' | 'delete', ifName: string): Promise<void> {
    await run('ip', [
      'netns',
      'exec',
      this.routerNs,
      'nft',
      op,
      'element',
      'inet',
      NFT_TABLE,
      'cut',
      `{ "${ifName}" }`,
    ]);
  }

  private async inNs(
    ns: string,
    command: string,
    args: readonly string[],
    input?: string,
  ): Promise<void> {
    const child = spawn('ip', ['netns', 'exec', ns, command, ...args], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    // A command that fails before reading its input (nft refusing at once) closes the pipe:
    // the EPIPE is that failure, which the exit code reports; unhandled, it threw from the
    // stream and the bed neither finished nor tore down (a test hung to its file limit).
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0)
      throw new Error(`${command} ${args.join(' ')} in ${ns} failed (${code}): ${stderr}`);
  }
}

/** A second octet for 10.B.0.0/16 that no route on the machine uses. */
async function freeOctet(): Promise<number> {
  const { stdout } = await run('ip', ['-4', 'route', 'show', 'table', 'all']);
  for (let attempt = 0; attempt < 100; attempt++) {
    const octet = 100 + Math.floor(Math.random() * 100);
    if (!stdout.includes(`10.${octet}.`)) return octet;
  }
  throw new Error('no free 10.x.0.0/16 for the bed');
}

// A userspace TCP relay for the edge network bed (#15): it listens in the
// router namespace on an agent's subnet and forwards to the master, adding what
// netem would if this kernel had it: one-way delay with jitter (order kept, as
// TCP keeps it), a throughput limit, stalls (nothing delivered for a while),
// resets (every open connection aborted with RST) and freezes (open connections
// go silent for good: half-open, as a NAT box that lost its state leaves them).
//
// Run: node --import tsx relay.ts '{"listen":{"host":…,"port":0},"target":{"host":…,"port":…}}'
// Commands on stdin, one JSON object a line; events on stdout, likewise:
//   {"cmd":"set","delayMs":200,"jitterMs":50,"bytesPerSec":0}
//   {"cmd":"stall","ms":3000}     {"cmd":"reset"}     {"cmd":"freeze"}     {"cmd":"stats"}
// Every command is answered by {"event":"done","cmd":…} (stats by {"event":"stats",…}).
import { connect, createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

interface Shaping {
  delayMs: number;
  jitterMs: number;
  /** 0: unlimited. */
  bytesPerSec: number;
  /** Nothing is delivered before this time (ms, performance.now()). */
  stalledUntilMs: number;
}

/** Above this many bytes queued in one direction, the source is paused. */
const HIGH_WATER_BYTES = 1 << 20;

const config = JSON.parse(process.argv[2] ?? '{}') as {
  listen: { host: string; port: number };
  target: { host: string; port: number };
};
const shaping: Shaping = { delayMs: 0, jitterMs: 0, bytesPerSec: 0, stalledUntilMs: 0 };
const connections = new Set<Connection>();
const stats = { accepted: 0, resets: 0, frozen: 0, bytesForwarded: 0 };

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

/** One direction of a connection: chunks released in order, each at its due time. */
class Pipe {
  private readonly queue: { dueMs: number; data: Buffer }[] = [];
  private queuedBytes = 0;
  private lastDueMs = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Its source ended (FIN): what is queued still goes, then the other side is ended. */
  isEnded = false;
  isFrozen = false;

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
  ) {
    from.on('data', (data: Buffer) => this.push(data));
    from.on('end', () => {
      this.isEnded = true;
      this.pump();
    });
  }

  private push(data: Buffer): void {
    if (this.isFrozen) return;
    const now = performance.now();
    const jitter = Math.random() * shaping.jitterMs;
    const transferMs = shaping.bytesPerSec > 0 ? (data.length / shaping.bytesPerSec) * 1000 : 0;
    // Never before the chunk ahead of it: TCP delivers in order whatever the jitter.
    const dueMs = Math.max(now + shaping.delayMs + jitter, this.lastDueMs + transferMs);
    this.lastDueMs = dueMs;
    this.queue.push({ dueMs, data });
    this.queuedBytes += data.length;
    if (this.queuedBytes > HIGH_WATER_BYTES) this.from.pause();
    this.pump();
  }

  pump(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.isFrozen || this.to.destroyed) return;
    const now = performance.now();
    while (this.queue.length > 0) {
      const head = this.queue[0];
      if (head === undefined) break;
      const dueMs = Math.max(head.dueMs, shaping.stalledUntilMs);
      if (dueMs > now) {
        this.timer = setTimeout(() => this.pump(), Math.ceil(dueMs - now));
        return;
      }
      this.queue.shift();
      this.queuedBytes -= head.data.length;
      stats.bytesForwarded += head.data.length;
      this.to.write(head.data);
    }
    if (this.queuedBytes <= HIGH_WATER_BYTES && this.from.isPaused()) this.from.resume();
    if (this.isEnded) this.to.end();
  }

  freeze(): void {
    this.isFrozen = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.queue.length = 0;
    this.from.pause();
  }

  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
  }
}

class Connection {
  private readonly pipes: Pipe[];

  constructor(
    private readonly client: Socket,
    private readonly upstream: Socket,
  ) {
    this.pipes = [new Pipe(client, upstream), new Pipe(upstream, client)];
    const close = () => {
      for (const pipe of this.pipes) pipe.close();
      client.destroy();
      upstream.destroy();
      connections.delete(this);
    };
    client.on('error', close);
    upstream.on('error', close);
    // A side that closed after ending (FIN) leaves its pipe to deliver what is queued and
    // end the other side, as a real link would: a throttled response's last bytes were
    // otherwise dropped with the connection when the server closed (#15's fetch run).
    const [fromClient, fromUpstream] = this.pipes;
    client.on('close', () => {
      if (fromClient?.isEnded === true && !upstream.destroyed) return;
      close();
    });
    upstream.on('close', () => {
      if (fromUpstream?.isEnded === true && !client.destroyed) return;
      close();
    });
  }

  reset(): void {
    for (const pipe of this.pipes) pipe.close();
    this.client.resetAndDestroy();
    this.upstream.resetAndDestroy();
    connections.delete(this);
  }

  freeze(): void {
    for (const pipe of this.pipes) pipe.freeze();
  }

  pump(): void {
    for (const pipe of this.pipes) pipe.pump();
  }
}

const server = createServer((client) => {
  stats.accepted += 1;
  const upstream = connect(config.target.port, config.target.host);
  connections.add(new Connection(client, upstream));
});
server.listen(config.listen.port, config.listen.host, () => {
  const address = server.address();
  emit({
    event: 'listening',
    port: typeof address === 'object' && address !== null ? address.port : 0,
  });
});

createInterface({ input: process.stdin }).on('line', (line) => {
  let command: Record<string, unknown>;
  try {
    command = JSON.parse(line) as Record<string, unknown>;
  } catch {
    emit({ event: 'error', message: `not JSON: ${line.slice(0, 100)}` });
    return;
  }
  switch (command.cmd) {
    case 'set':
      for (const key of ['delayMs', 'jitterMs', 'bytesPerSec'] as const)
        if (typeof command[key] === 'number') shaping[key] = command[key];
      break;
    case 'stall':
      shaping.stalledUntilMs = performance.now() + Number(command.ms ?? 0);
      // Each pipe re-arms its timer for the end of the stall.
      for (const connection of connections) connection.pump();
      break;
    case 'reset':
      stats.resets += connections.size;
      for (const connection of [...connections]) connection.reset();
      break;
    case 'freeze':
      stats.frozen += connections.size;
      for (const connection of connections) connection.freeze();
      break;
    case 'stats':
      emit({ event: 'stats', ...stats, open: connections.size });
      return;
    default:
      emit({ event: 'error', message: `unknown command ${String(command.cmd)}` });
      return;
  }
  emit({ event: 'done', cmd: command.cmd });
});
// The test owns the relay: when its stdin closes (the test ended or died), the relay goes.
process.stdin.on('end', () => {
  for (const connection of [...connections]) connection.reset();
  server.close();
  process.exit(0);
});

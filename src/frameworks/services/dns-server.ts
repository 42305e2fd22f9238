// The DNS server's sockets: UDP and TCP on one port (RFC 1035 §4.2), answering
// from the current Zone. Bounded: one TCP connection carries at most a few
// queries, connections are capped and idle ones closed.
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import { encodeResponse, MAX_UDP_BYTES, parseQuery, type Zone } from './dns.js';

const MAX_TCP_CONNECTIONS = 256;
const TCP_IDLE_MS = 10_000;
const MAX_TCP_MESSAGE_BYTES = 4096;

export class DnsServer {
  private udp: Socket | undefined;
  private tcp: Server | undefined;
  private readonly connections = new Set<TcpSocket>();

  constructor(private readonly zone: () => Zone) {}

  /** Binds both sockets; resolves with the port (useful when asked for 0). */
  async start(host: string, port: number): Promise<number> {
    const tcp = createServer((socket) => this.serveTcp(socket));
    tcp.maxConnections = MAX_TCP_CONNECTIONS;
    tcp.listen(port, host);
    await once(tcp, 'listening');
    this.tcp = tcp;
    const address = tcp.address();
    const bound = typeof address === 'object' && address !== null ? address.port : port;
    const udp = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    udp.on('message', (message, remote) => {
      const reply = this.respond(message, MAX_UDP_BYTES);
      if (reply !== undefined) udp.send(reply, remote.port, remote.address);
    });
    udp.on('error', () => undefined);
    udp.bind(bound, host);
    await once(udp, 'listening');
    this.udp = udp;
    return bound;
  }

  async stop(): Promise<void> {
    for (const socket of this.connections) socket.destroy();
    const udp = this.udp;
    this.udp = undefined;
    if (udp !== undefined) await new Promise<void>((resolve) => udp.close(() => resolve()));
    const tcp = this.tcp;
    this.tcp = undefined;
    if (tcp !== undefined) await new Promise<void>((resolve) => tcp.close(() => resolve()));
  }

  private respond(message: Buffer, maxBytes: number): Buffer | undefined {
    const question = parseQuery(message);
    if (question === undefined) return undefined;
    const { rcode, answers, additional } = this.zone().answer(question);
    return encodeResponse(question, rcode, answers, additional, maxBytes);
  }

  private serveTcp(socket: TcpSocket): void {
    this.connections.add(socket);
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    socket.on('close', () => this.connections.delete(socket));
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (length > MAX_TCP_MESSAGE_BYTES) {
          socket.destroy();
          return;
        }
        if (buffered.length < 2 + length) return;
        const reply = this.respond(buffered.subarray(2, 2 + length), 65_535);
        buffered = buffered.subarray(2 + length);
        if (reply === undefined) continue;
        const prefix = Buffer.alloc(2);
        prefix.writeUInt16BE(reply.length, 0);
        socket.write(Buffer.concat([prefix, reply]));
      }
    });
  }
}

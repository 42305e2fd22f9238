// The DNS server's sockets: UDP and TCP on one port (RFC 1035 §4.2), answering
// from the current Zone. Bounded: connections are capped, idle ones closed, and a
// TCP client that does not read its answers is not read from either, so its
// pipelined queries cannot pile answers up in memory.
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import { encodeResponse, MAX_UDP_BYTES, parseQuery, type Zone } from './dns.js';

const MAX_TCP_CONNECTIONS = 256;
const TCP_IDLE_MS = 10_000;
const MAX_TCP_MESSAGE_BYTES = 4096;
/**
 * Answers a TCP connection may have waiting for its client to read before the server stops
 * reading its queries (one query of 40 bytes can ask for 64 KiB of SRV records: without this,
 * a client that pipelined queries and read nothing grew the process by a GiB a minute).
 */
export const MAX_TCP_UNREAD_ANSWER_BYTES = 256 * 1024;

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

  /** Bytes of answers written to TCP clients and not yet taken by them (for tests and metrics). */
  unreadAnswerBytes(): number {
    let total = 0;
    for (const socket of this.connections) total += socket.writableLength;
    return total;
  }

  private serveTcp(socket: TcpSocket): void {
    this.connections.add(socket);
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    socket.on('close', () => this.connections.delete(socket));
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    let isWaitingForDrain = false;
    const answerBuffered = (): void => {
      while (buffered.length >= 2) {
        // Read no further until the client takes what it was sent; the idle timeout ends a
        // client that never does.
        if (socket.writableLength >= MAX_TCP_UNREAD_ANSWER_BYTES) {
          if (!isWaitingForDrain) {
            isWaitingForDrain = true;
            socket.pause();
            socket.once('drain', () => {
              isWaitingForDrain = false;
              socket.resume();
              answerBuffered();
            });
          }
          return;
        }
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
    };
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      answerBuffered();
    });
  }
}

// GET /v2/events: Marathon's event bus as Server-Sent Events
// (`event: <eventType>` then `data: <json>`). Bounded: at most
// MAX_SUBSCRIBERS streams, and a stream whose socket stops draining is cut
// off (it reconnects), never buffered without limit.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServiceEvent } from './core.js';

const MAX_SUBSCRIBERS = 100;
/** Bytes a slow subscriber may have queued before it is dropped. */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;
const KEEPALIVE_MS = 15_000;

interface Subscriber {
  readonly res: ServerResponse;
  readonly types: ReadonlySet<string>;
}

export class EventHub {
  private readonly subscribers = new Set<Subscriber>();
  private readonly keepalive: NodeJS.Timeout;

  constructor() {
    this.keepalive = setInterval(() => {
      for (const s of this.subscribers) s.res.write(':\n\n');
    }, KEEPALIVE_MS);
    this.keepalive.unref();
  }

  subscribe(req: IncomingMessage, res: ServerResponse, types: readonly string[]): void {
    if (this.subscribers.size >= MAX_SUBSCRIBERS) {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `at most ${MAX_SUBSCRIBERS} event streams` }));
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    res.flushHeaders();
    const subscriber: Subscriber = { res, types: new Set(types.slice(0, 50)) };
    this.subscribers.add(subscriber);
    const remove = () => this.subscribers.delete(subscriber);
    req.on('close', remove);
    res.on('close', remove);
    const attached = {
      eventType: 'event_stream_attached',
      timestamp: new Date().toISOString(),
      remoteAddress: req.socket.remoteAddress ?? '',
    };
    this.write(subscriber, attached);
  }

  publish(event: ServiceEvent): void {
    for (const subscriber of this.subscribers) this.write(subscriber, event);
  }

  close(): void {
    clearInterval(this.keepalive);
    for (const s of this.subscribers) s.res.destroy();
    this.subscribers.clear();
  }

  private write(subscriber: Subscriber, event: ServiceEvent): void {
    if (subscriber.types.size > 0 && !subscriber.types.has(event.eventType)) return;
    if (subscriber.res.writableLength > MAX_QUEUED_BYTES) {
      this.subscribers.delete(subscriber);
      subscriber.res.destroy();
      return;
    }
    subscriber.res.write(`event: ${event.eventType}\ndata: ${JSON.stringify(event)}\n\n`);
  }
}

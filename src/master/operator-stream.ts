// The operator event stream (POST /api/v1 SUBSCRIBE, WIRE §6.2): SUBSCRIBED
// with the whole state, then one event per change the core observed, and
// heartbeats. Dashboards follow the cluster through it without polling. Each subscriber sees
// what its view ACLs show it, as Mesos filters per subscriber: a task event needs view_tasks
// and view_frameworks on the task's framework user, a framework event view_frameworks; agent
// events go to all.
import type { ServerResponse } from 'node:http';
import {
  type Clock,
  EventStream,
  every,
  type Logger,
  type MessageEncoder,
} from '../runtime/index.js';
import { assertNever } from '../wire/index.js';
import type { ReadonlyBooks } from './core/books.js';
import type { ClusterChange } from './core/outbox.js';
import { v1Agent, v1Framework, v1State, v1Task } from './http/render-v1.js';
import { filterV1, frameworkUsers, type Visibility } from './http/view-filter.js';

/** Mesos' --max_operator_event_stream_subscribers default. */
export const DEFAULT_MAX_OPERATOR_SUBSCRIBERS = 1000;

type OperatorEvent = Record<string, unknown> & { readonly type: string };

export interface OperatorStreamsOptions {
  readonly books: ReadonlyBooks;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly heartbeatIntervalMs: number;
  readonly maxSubscribers?: number;
  /** Told whether anyone is subscribed, so the core queues changes only then. */
  readonly onObservedChange: (isObserved: boolean) => void;
}

interface Subscriber {
  readonly stream: EventStream<OperatorEvent>;
  /** What the subscriber's principal may see; undefined when its ACLs hide nothing. */
  readonly visibility: Visibility | undefined;
}

export class OperatorStreams {
  /** Oldest first: when full, the oldest subscriber is dropped (as in Mesos). */
  private readonly subscribers: Subscriber[] = [];

  constructor(private readonly options: OperatorStreamsOptions) {}

  /**
   * Serves one subscriber on `response`, encoded by `encoder`, until it or the master goes
   * away; `visibility` (from its principal's view ACLs) filters the state and every event.
   */
  async subscribe(
    response: ServerResponse,
    requestClosed: AbortSignal,
    encoder: MessageEncoder,
    visibility?: Visibility,
  ): Promise<void> {
    const stream = new EventStream<OperatorEvent>(response, {
      encoder,
      onEncodeError: (error) =>
        this.options.logger.error({ err: error }, 'operator event could not be encoded'),
    });
    requestClosed.addEventListener('abort', () => stream.close(), { once: true });
    const max = this.options.maxSubscribers ?? DEFAULT_MAX_OPERATOR_SUBSCRIBERS;
    while (this.subscribers.length >= max) this.subscribers.shift()?.stream.close();
    const subscriber: Subscriber = { stream, visibility };
    this.subscribers.push(subscriber);
    this.options.onObservedChange(true);
    const { books } = this.options;
    const state = v1State(books);
    stream.send({
      type: 'SUBSCRIBED',
      subscribed: {
        get_state:
          visibility === undefined
            ? state
            : filterV1(state as Record<string, unknown>, visibility, frameworkUsers(books)),
        heartbeat_interval_seconds: this.options.heartbeatIntervalMs / 1000,
      },
    });
    const heartbeat = every(this.options.clock, this.options.heartbeatIntervalMs, () =>
      stream.send({ type: 'HEARTBEAT' }),
    );
    this.options.logger.info({ subscribers: this.subscribers.length }, 'operator subscribed');
    if (!stream.closed.aborted)
      await new Promise<void>((resolve) =>
        stream.closed.addEventListener('abort', () => resolve(), { once: true }),
      );
    heartbeat.cancel();
    const index = this.subscribers.indexOf(subscriber);
    if (index !== -1) this.subscribers.splice(index, 1);
    if (this.subscribers.length === 0) this.options.onObservedChange(false);
  }

  /** How many streams are open. */
  get size(): number {
    return this.subscribers.length;
  }

  publish(change: ClusterChange): void {
    if (this.subscribers.length === 0) return;
    const { books } = this.options;
    const event = render(books, change);
    // One encoding per encoder (JSON, protobuf), not one per subscriber.
    const encoded = new Map<MessageEncoder, string | Uint8Array | Error>();
    for (const { stream, visibility } of this.subscribers) {
      if (visibility !== undefined && !isVisible(books, change, visibility)) continue;
      const encoder = stream.messageEncoder;
      let payload = encoded.get(encoder);
      if (payload === undefined) {
        try {
          payload = encoder.encode(event);
        } catch (error) {
          payload = error instanceof Error ? error : new Error(String(error));
        }
        encoded.set(encoder, payload);
      }
      // An event this encoder cannot write: send() reports it and ends the stream.
      if (payload instanceof Error) stream.send(event);
      else stream.sendEncoded(payload);
    }
  }

  closeAll(): void {
    for (const { stream } of this.subscribers.splice(0)) stream.close();
    this.options.onObservedChange(false);
  }
}

/** Whether a subscriber with `visibility` gets the event of `change` (Mesos' rules, above). */
export function isVisible(
  books: ReadonlyBooks,
  change: ClusterChange,
  visibility: Visibility,
): boolean {
  switch (change.kind) {
    case 'taskAdded':
    case 'taskUpdated': {
      const user = frameworkUsers(books)(change.task.frameworkId.value);
      return visibility.task(change.task.info.user ?? user) && visibility.framework(user);
    }
    case 'frameworkAdded':
    case 'frameworkUpdated':
    case 'frameworkRemoved':
      return visibility.framework(change.framework.info.user);
    case 'agentAdded':
    case 'agentRemoved':
      return true;
    default:
      return assertNever(change);
  }
}

function render(books: ReadonlyBooks, change: ClusterChange): OperatorEvent {
  switch (change.kind) {
    case 'taskAdded':
      return {
        type: 'TASK_ADDED',
        task_added: { task: { ...v1Task(change.task), state: change.state } },
      };
    case 'taskUpdated':
      return {
        type: 'TASK_UPDATED',
        task_updated: {
          framework_id: change.task.frameworkId,
          status: change.status,
          state: change.state,
        },
      };
    case 'frameworkAdded':
      return {
        type: 'FRAMEWORK_ADDED',
        framework_added: { framework: v1Framework(books, change.framework) },
      };
    case 'frameworkUpdated':
      return {
        type: 'FRAMEWORK_UPDATED',
        framework_updated: { framework: v1Framework(books, change.framework) },
      };
    case 'frameworkRemoved':
      return {
        type: 'FRAMEWORK_REMOVED',
        framework_removed: { framework_info: change.framework.info },
      };
    case 'agentAdded':
      return { type: 'AGENT_ADDED', agent_added: { agent: v1Agent(books, change.agent) } };
    case 'agentRemoved':
      return { type: 'AGENT_REMOVED', agent_removed: { agent_id: change.agent.id } };
    default:
      return assertNever(change);
  }
}

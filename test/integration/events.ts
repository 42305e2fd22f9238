// A framework's side of integration tests: its events buffered so a test can
// wait for the one it needs, and a one-task launch on the first fitting offer.
import type { SchedulerConnection } from '../../src/sdk/index.js';
import { type Event, type Offer, type TaskStatus, taskId } from '../../src/wire/index.js';
import { waitFor } from './harness.js';

/** Buffers a subscription's events so a test can wait for the one it needs. */
export class EventQueue {
  readonly seen: Event[] = [];
  private readonly pump: Promise<void>;

  constructor(connection: SchedulerConnection) {
    this.pump = (async () => {
      for await (const event of connection.events()) this.seen.push(event);
    })().catch(() => undefined);
  }

  /** The next OFFERS event's offers (waits for one). */
  async offers(timeoutMs?: number): Promise<readonly Offer[]> {
    const index = await waitFor(
      'offers',
      () => {
        const i = this.seen.findIndex((e) => e.type === 'OFFERS');
        return i === -1 ? undefined : i;
      },
      timeoutMs,
    );
    const [event] = this.seen.splice(index, 1);
    return event?.type === 'OFFERS' ? event.offers.offers : [];
  }

  /** The first UPDATE for `taskIdValue` (in `state`, if given). */
  async update(
    taskIdValue: string,
    state?: TaskStatus['state'],
    timeoutMs?: number,
  ): Promise<TaskStatus> {
    return waitFor(
      `an update for ${taskIdValue}${state === undefined ? '' : ` in ${state}`}`,
      () => {
        for (const event of this.seen)
          if (
            event.type === 'UPDATE' &&
            event.update.status.task_id.value === taskIdValue &&
            (state === undefined || event.update.status.state === state)
          )
            return event.update.status;
        return undefined;
      },
      timeoutMs,
    );
  }

  /** Resolves when the stream ends. */
  get done(): Promise<void> {
    return this.pump;
  }
}

/**
 * Launches one command task of 0.1 cpu / 32 MB on the next offer and waits
 * for it to run. Resolves with the running status (it carries the pid).
 */
export async function launchOne(
  framework: SchedulerConnection,
  events: EventQueue,
  id: string,
  command: string,
): Promise<TaskStatus> {
  const [offer] = await events.offers();
  if (offer === undefined) throw new Error('an OFFERS event with no offer');
  await framework.accept(
    [offer.id],
    [
      {
        type: 'LAUNCH',
        launch: {
          task_infos: [
            {
              name: id,
              task_id: taskId(id),
              agent_id: offer.agent_id,
              resources: [
                { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } },
                { name: 'mem', type: 'SCALAR', scalar: { value: 32 } },
              ],
              command: { value: command },
            },
          ],
        },
      },
    ],
  );
  return events.update(id, 'TASK_RUNNING');
}

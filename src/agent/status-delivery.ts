// How the agent hands a task's status update on, for command tasks and for the
// tasks of custom executors alike: checkpointed first, so that a restarted agent
// resends what was not acknowledged, then queued for reliable delivery.
import type { Logger } from '../runtime/index.js';
import type { FrameworkID, TaskStatus } from '../wire/index.js';
import type { Checkpoint, RunAddress } from './checkpoint.js';
import type { StatusUpdateManager } from './status-update-manager.js';

export interface StatusDelivery {
  readonly checkpoint: Checkpoint;
  readonly updates: StatusUpdateManager;
  readonly log: Logger;
}

export function deliverStatus(
  delivery: StatusDelivery,
  address: RunAddress,
  frameworkId: FrameworkID,
  status: TaskStatus,
): void {
  const taskIdValue = status.task_id.value;
  try {
    delivery.checkpoint.updated(address, frameworkId, status);
  } catch (error) {
    delivery.log.error(
      { err: (error as Error).message, task_id: taskIdValue },
      'could not checkpoint a status update; a restarted agent may not resend it',
    );
  }
  try {
    delivery.updates.update(frameworkId, status);
  } catch (error) {
    // The task's queue is full (see the status update manager): recorded, not sent.
    delivery.log.error(
      { err: (error as Error).message, task_id: taskIdValue },
      'status update not queued',
    );
  }
}

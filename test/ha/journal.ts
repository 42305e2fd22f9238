// What the HA workload framework did and saw, one JSON line per event, written
// synchronously before it acts on it (a launch before its ACCEPT) or after the
// master answered (an acknowledgement after its 202): a SIGKILLed framework
// leaves a journal it, restarted, and the invariant checks can trust.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';

export type JournalEntry =
  | { readonly kind: 'started'; readonly t: number; readonly pid: number }
  | {
      readonly kind: 'subscribed';
      readonly t: number;
      readonly framework_id: string;
      readonly master: string;
    }
  | {
      readonly kind: 'launch';
      readonly t: number;
      readonly task_id: string;
      readonly agent_id: string;
      readonly long: boolean;
    }
  | {
      readonly kind: 'accept';
      readonly t: number;
      readonly task_ids: readonly string[];
      readonly ok: boolean;
      readonly error?: string;
    }
  | {
      readonly kind: 'update';
      readonly t: number;
      readonly task_id: string;
      readonly state: string;
      readonly uuid?: string;
      readonly reason?: string;
      readonly message?: string;
      readonly source?: string;
    }
  | {
      readonly kind: 'ack';
      readonly t: number;
      readonly task_id: string;
      readonly uuid: string;
      readonly state: string;
      readonly ok: boolean;
      readonly error?: string;
    }
  | { readonly kind: 'reconcile'; readonly t: number; readonly task_ids: readonly string[] };

/** Distributes Omit over the union, so each entry keeps its own fields. */
type WithoutTime<T> = T extends unknown ? Omit<T, 't'> : never;

export class Journal {
  constructor(readonly path: string) {}

  append(entry: WithoutTime<JournalEntry>): void {
    appendFileSync(this.path, `${JSON.stringify({ ...entry, t: Date.now() })}\n`);
  }
}

/** Every entry so far; a last line cut short by a SIGKILL is left out. */
export function readJournal(path: string): JournalEntry[] {
  if (!existsSync(path)) return [];
  const entries: JournalEntry[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '') continue;
    try {
      entries.push(JSON.parse(line) as JournalEntry);
    } catch {
      // The write a kill interrupted.
    }
  }
  return entries;
}

/** A ran-file line: `<task id> <pid>`, appended by each task as it starts. */
export function readRuns(path: string): { readonly taskId: string; readonly pid: number }[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [taskId = '', pid = '0'] = line.trim().split(/\s+/);
      return { taskId, pid: Number(pid) };
    });
}

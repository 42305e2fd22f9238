// How a simulated framework tells a simulated agent how long a task runs: a label on
// the TaskInfo, which the master passes through to RUN_TASK untouched. A real agent
// ignores the label and runs the command.
import type { Label, TaskInfo } from '../wire/index.js';

/** The label key carrying a task's simulated run time in whole milliseconds. */
export const SIM_DURATION_LABEL = 'agora_sim_duration_ms';

/** The label for a run time; undefined (no label) means the task runs until killed. */
export function durationLabel(durationMs: number | undefined): readonly Label[] {
  if (durationMs === undefined) return [];
  return [{ key: SIM_DURATION_LABEL, value: String(Math.max(0, Math.round(durationMs))) }];
}

/** The simulated run time of a task in ms, or undefined when it runs until killed. */
export function simulatedDurationMs(task: TaskInfo): number | undefined {
  const label = task.labels?.labels.find((l) => l.key === SIM_DURATION_LABEL);
  if (label?.value === undefined) return undefined;
  const durationMs = Number(label.value);
  return Number.isFinite(durationMs) && durationMs >= 0 ? durationMs : undefined;
}

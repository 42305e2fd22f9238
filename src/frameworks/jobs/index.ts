// The bundled jobs framework: arrays, retries, dependencies, schedules (README.md).
export { type JobRecord, JobsCore, JobsError, type Run, type RunMeta } from './core.js';
export { nextFireMs, parseCron } from './cron.js';
export { JobsFramework } from './framework.js';
export { createJobsServer } from './http.js';
export {
  type CycleOptions,
  type CyclePlan,
  type OfferSlot,
  planCycle,
  type QueueEntry,
} from './queue.js';
export { type ServeJobsOptions, serveJobs } from './serve.js';
export {
  type JobSpec,
  LIMITS,
  parseArrayRange,
  parseJobSpec,
  parseScheduleSpec,
  type ScheduleSpec,
} from './spec.js';
export { type JobsStore, type JobsStoreChange, readLegacyJobLog } from './store.js';
export type { RunCounts } from './views.js';
export { parseYaml, YamlError } from './yaml.js';

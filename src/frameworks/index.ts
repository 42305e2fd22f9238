export {
  LIMITS as JOB_LIMITS,
  parseArrayRange,
  parseJobSpec,
  parseScheduleSpec,
  parseYaml,
  type ServeJobsOptions,
  serveJobs,
} from './jobs/index.js';
export {
  DEFAULT_FAILOVER_TIMEOUT_MS,
  EXIT_COULD_NOT_RUN,
  EXIT_INTERRUPTED,
  exitStatusOf,
  type LaunchedAhead,
  type RunCommandOptions,
  type RunOutcome,
  type RunResult,
  runCommand,
} from './run.js';
export { type RunDockerOptions, takePorts } from './run-docker.js';
export {
  type AppDefinition,
  type AppFileDocument,
  type AppFileResult,
  parseApp,
  parseAppFile,
  ServiceCore,
  ServicesFramework,
  type ServicesLog,
  type ServicesOptions,
  type ServicesStore,
} from './services/index.js';
export {
  type AgentView,
  type RoleView,
  type WaitingKind,
  type WaitingReason,
  whyWaiting,
} from './waiting.js';

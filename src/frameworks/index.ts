export {
  EXIT_COULD_NOT_RUN,
  exitStatusOf,
  type RunCommandOptions,
  type RunResult,
  runCommand,
} from './run.js';

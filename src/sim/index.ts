// Simulated clusters for comparing and benchmarking (see README.md): seeded, no clock, no I/O.
export { exponential, mulberry32, type Random, uniform } from './random.js';
export {
  DEFAULT_SIM_CONFIG,
  runSimulation,
  type SimConfig,
  type SimResult,
  simulate,
  type TaskOutcome,
} from './simulate.js';
export { type SimStats, statsOf, type WaitStats, waitStats } from './stats.js';
export { TimingWheel, WheelDriver, type WheelTimer } from './timing-wheel.js';
export {
  arrivalRatePerMs,
  clusterCapacityOf,
  DEFAULT_WORKLOAD,
  generateWorkload,
  type Range,
  type SimTask,
  type TaskClass,
  type WorkloadConfig,
} from './workload.js';

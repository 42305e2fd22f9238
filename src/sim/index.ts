// Simulated clusters for comparing and benchmarking (see README.md): the placement
// simulation (seeded, no clock, no I/O), and simulated agents and frameworks that load a
// real master over loopback HTTP.
export { LoadRecorder, type LoadSummary } from './load-recorder.js';
export { exponential, mulberry32, type Random, uniform } from './random.js';
export { SimAgentPool, type SimAgentPoolOptions, type SimAgentStats } from './sim-agents.js';
export {
  SimFramework,
  type SimFrameworkOptions,
  type SimFrameworkStats,
  type SimTaskShape,
} from './sim-frameworks.js';
export {
  type CallResult,
  SimNetwork,
  type SimNetworkOptions,
  type SimNetworkStats,
} from './sim-network.js';
export { durationLabel, SIM_DURATION_LABEL, simulatedDurationMs } from './sim-task.js';
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

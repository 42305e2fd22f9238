export { Contender, type ContenderOptions } from './contender.js';
export { prepareRecovery } from './core/recovery.js';
export type { RemovalRate } from './core/removal-limiter.js';
export { Master } from './master.js';
export { MASTER_DEFAULTS, type MasterOptions } from './options.js';
export type { Leadership, LeadershipState } from './stall-watch.js';

export { Agent } from './agent.js';
export { DEFAULT_FETCHER_CACHE_SIZE_BYTES } from './fetcher.js';
export { DEFAULT_PORTS, detectHost, overrideByName, shareText } from './host-resources.js';
export { type HostShare, type PortRange, splitHost } from './host-share.js';
export { AGENT_DEFAULTS, type AgentOptions } from './options.js';
export { GC_DEFAULTS } from './sandbox-gc.js';

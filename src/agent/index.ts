export { Agent } from './agent.js';
export { AGENT_DEFAULTS, type AgentOptions } from './options.js';

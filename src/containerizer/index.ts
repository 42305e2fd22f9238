export { ProcessContainerizer } from './process-containerizer.js';
export type { Container, Containerizer, LaunchSpec, Termination } from './types.js';

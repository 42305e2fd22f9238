import type { Brand } from './brand.js';

// Ids are messages on the wire (`{"value":"…"}`), not bare strings (WIRE §1.2).
export interface FrameworkID {
  readonly value: Brand<string, 'FrameworkID'>;
}
export interface AgentID {
  readonly value: Brand<string, 'AgentID'>;
}
export interface OfferID {
  readonly value: Brand<string, 'OfferID'>;
}
export interface TaskID {
  readonly value: Brand<string, 'TaskID'>;
}
export interface ExecutorID {
  readonly value: Brand<string, 'ExecutorID'>;
}
export interface ContainerID {
  readonly value: Brand<string, 'ContainerID'>;
  readonly parent?: ContainerID;
}

// Mints for id generators (the master numbers frameworks, agents and offers;
// the agent names containers). Parsed input is branded by the schemas instead.
export const frameworkId = (value: string): FrameworkID => ({
  value: value as FrameworkID['value'],
});
export const agentId = (value: string): AgentID => ({ value: value as AgentID['value'] });
export const offerId = (value: string): OfferID => ({ value: value as OfferID['value'] });
export const taskId = (value: string): TaskID => ({ value: value as TaskID['value'] });
export const executorId = (value: string): ExecutorID => ({
  value: value as ExecutorID['value'],
});
export const containerId = (value: string): ContainerID => ({
  value: value as ContainerID['value'],
});

// What the codec needs to know of each message, compiled from the .proto files
// in this folder (compile.ts): plain data, so the build can ship it as JSON and
// the codec never needs the protobuf library at run time.

/** How often a field may occur; a map field is repeated entries {key = 1, value = 2}. */
export type FieldRule = 'required' | 'optional' | 'repeated' | 'map';

export interface FieldDescriptor {
  readonly name: string;
  readonly id: number;
  readonly rule: FieldRule;
  /** A scalar type (`double`, `int64`, `string`, …) or a message's or enum's full name. */
  readonly type: string;
  /** A map's key type (a scalar type). */
  readonly keyType?: string;
  /** Repeated numbers written packed (`[packed = true]`); decoding takes both forms. */
  readonly isPacked?: boolean;
}

export interface MessageDescriptor {
  /** In field-number order, the order they are written in. */
  readonly fields: readonly FieldDescriptor[];
}

export interface ProtoDescriptor {
  /** By full name without the leading dot: `mesos.v1.scheduler.Call`. */
  readonly messages: Readonly<Record<string, MessageDescriptor>>;
  /** Enum values by full name, then by value name. */
  readonly enums: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/** The .proto files, in an order where each file's imports come before it. */
export const PROTO_FILES = [
  'duration.proto',
  'mesos.proto',
  'allocator.proto',
  'maintenance.proto',
  'quota.proto',
  'scheduler.proto',
  'executor.proto',
  'master.proto',
  'agent.proto',
] as const;

/** The top-level message of each v1 API, by what it carries. */
export const PROTO_MESSAGES = {
  schedulerCall: 'mesos.v1.scheduler.Call',
  schedulerEvent: 'mesos.v1.scheduler.Event',
  masterCall: 'mesos.v1.master.Call',
  masterResponse: 'mesos.v1.master.Response',
  masterEvent: 'mesos.v1.master.Event',
  executorCall: 'mesos.v1.executor.Call',
  executorEvent: 'mesos.v1.executor.Event',
  agentCall: 'mesos.v1.agent.Call',
  agentResponse: 'mesos.v1.agent.Response',
  /** A record of a container's streamed input or output. */
  agentProcessIO: 'mesos.v1.agent.ProcessIO',
} as const;

export {
  AGENT_OPERATOR_CALL_TYPES,
  type AgentOperatorCall,
  type AgentOperatorCallType,
  type NestedContainerID,
  type ProcessIO,
  rootContainerId,
} from './agent-operator.js';
export type {
  AgentCall,
  AgentEvent,
  AgentEventType,
  AgentReport,
  AgentStatusUpdate,
  AgentSubscribe,
  AgentTask,
  CompactTask,
  CompactTaskInfo,
  FilesRequest,
  FilesResponse,
  ReportedFramework,
  ReportedTask,
} from './agent-protocol.js';
export { pongFoldWindowMs, reregisterSpreadMs } from './agent-protocol.js';
export {
  compactOf,
  frameworkInfoOf,
  isShapeRefused,
  type ReportShape,
  reportedTasksOf,
  reportIn,
  shapeAfterRefusal,
  shapeAfterSubscribed,
  shapeOf,
} from './agent-report.js';
export { assertNever } from './assert-never.js';
export type { Brand } from './brand.js';
export { checkInfoError, healthCheckError } from './checks.js';
export { addCommandEnvironment, commandArgv, outputFileProblem } from './command-info.js';
export {
  durationNanosecondsProblem,
  durationSecondsProblem,
  MAX_DURATION_NANOSECONDS,
  MAX_DURATION_SECONDS,
  parseDuration,
} from './duration.js';
export { AgoraError, BadRequestError, type ErrorCode } from './errors.js';
export {
  EXECUTOR_CALL_TYPES,
  type ExecutorCall,
  type ExecutorEvent,
  type ExecutorEventType,
} from './executor.js';
export {
  type AgentID,
  agentId,
  type ContainerID,
  containerId,
  type ExecutorID,
  executorId,
  type FrameworkID,
  frameworkId,
  type OfferID,
  offerId,
  type TaskID,
  taskId,
} from './ids.js';
export { exceedsJsonDepth, nanosFromMs, stringifyJson, toAsciiJson } from './json.js';
export { jsonEqual } from './json-equal.js';
export { type KeptRenderings, LazyList, lazyList } from './lazy-list.js';
export * as limits from './limits.js';
export { machineKey } from './machine-id.js';
export type * from './messages.js';
export {
  MASTER_CALL_TYPES,
  type MaintenanceSchedule,
  type MasterCall,
  type MasterCallType,
  type QuotaConfigMessage,
  type QuotaRequest,
  type WeightInfo,
} from './operator.js';
export type { ProtoCodec } from './proto/codec.js';
export { PROTO_MESSAGES } from './proto/descriptor.js';
export { ProtoDecodeError, ProtoEncodeError } from './proto/errors.js';
export { loadProtoCodec } from './proto/load.js';
export {
  DEFAULT_MAX_RECORD_BYTES,
  decodeRecords,
  encodeRecord,
  RecordIODecoder,
  RecordIOError,
} from './recordio.js';
export { roleError } from './roles.js';
export type * from './scheduler.js';
export { STREAM_ID_HEADER } from './scheduler.js';
export {
  AttributeSchema,
  CallSchema,
  DomainInfoSchema,
  FrameworkInfoSchema,
  MachineIDSchema,
  MaintenanceScheduleSchema,
  MasterCallSchema,
  parseAgentCall,
  parseAgentOperatorCall,
  parseCall,
  parseExecutorCall,
  parseMachineIds,
  parseMaintenanceSchedule,
  parseMasterCall,
  parseProcessIO,
  parseQuotaRequest,
  parseResources,
  parseWith,
  ResourceSchema,
  TaskInfoSchema,
  WeightsBodySchema,
} from './schemas.js';
export { isValidStatusUuid, newStatusUuid } from './status-uuid.js';
export {
  assertTransition,
  canTransition,
  InvalidTransitionError,
  isTerminalState,
  TASK_STATES,
} from './task-state.js';
export { exitStatusFromMessage, type ProcessEnd, terminationMessage } from './termination.js';
export { clip, describeInput, quote, utf8Length } from './text.js';
export { AGORA_VERSION, MESOS_API_VERSION } from './version.js';

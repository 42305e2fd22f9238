export {
  type ClientCredential,
  useCredential,
  withClientAuthorization,
} from './client-credential.js';
export { type ClientTls, clientTls, defaultProtocol, isTlsEnabled } from './client-tls.js';
export { type CodecName, type SchedulerCodec, schedulerCodec } from './codec.js';
export {
  attachContainerInput,
  attachContainerOutput,
  type ContainerWait,
  killContainer,
  launchNestedContainerSession,
  processIoRecords,
  shellExitStatus,
  waitContainer,
} from './container-session.js';
export {
  ExecutorConnection,
  type ExecutorOptions,
  type ExecutorSubscribed,
  type ExecutorUpdate,
  executorEnvironment,
  subscribeExecutor,
} from './executor.js';
export { type FileChunk, MAX_READ_BYTES, readFile, sandboxPath } from './files-client.js';
export {
  baseUrl,
  ConnectionError,
  getJson,
  type HttpResult,
  HttpStatusError,
  openStream,
  postBody,
  postJson,
  type RequestOptions,
  request,
} from './http-client.js';
export {
  followLeader,
  type LeaderFollower,
  locateMaster,
  needsLeaderDetection,
} from './locate.js';
export {
  type FailoverOptions,
  SchedulerConnection,
  type SubscribeOptions,
  SubscriptionError,
  subscribe,
} from './scheduler.js';

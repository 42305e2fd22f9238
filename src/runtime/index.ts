export {
  ACL_OBJECT_FIELDS,
  type AclAction,
  type Acls,
  AclsError,
  isAuthorized,
  isGoverned,
  PERMISSIVE_ACLS,
  parseAcls,
  requireAuthorized,
  type Visibility,
  visibilityFor,
} from './authorizer.js';
export { Cleanup } from './cleanup.js';
export {
  armTimer,
  type Clock,
  every,
  MAX_TIMER_CHUNK_MS,
  ManualClock,
  systemClock,
  type Timer,
  type TimerPrimitives,
} from './clock.js';
export {
  APPLICATION_JSON,
  APPLICATION_PROTOBUF,
  APPLICATION_RECORDIO,
  type ApiExchange,
  type ApiMessages,
  type ApiRouteOptions,
  acceptsMediaType,
  apiRoute,
  type BodyEncoding,
  decodeCall,
  JSON_EVENT_ENCODER,
  type MediaType,
  type MessageEncoder,
  messageEncoder,
  readCallBody,
  replyMediaType,
  requestMediaType,
  sendMessage,
  streamProtobuf,
} from './codec.js';
export {
  type Credential,
  CredentialsError,
  parseCredentials,
  readCredential,
  readCredentials,
} from './credentials.js';
export {
  DEFAULT_MAX_BUFFERED_BYTES,
  EventStream,
  type EventStreamOptions,
} from './event-stream.js';
export {
  completeUtf8Length,
  contentDisposition,
  type FileOpener,
  type FilesRouteOptions,
  MAX_READ_BYTES,
  modeString,
  openRegularFile,
  readWindow,
  type ServedFile,
  serveFiles,
  withFile,
} from './files-routes.js';
export {
  type BodyVerdict,
  type FrontHead,
  type FrontShape,
  frontShape,
  type HeadVerdict,
  judgeBody,
  readHead,
} from './front-request.js';
export {
  type AuthenticationRequired,
  type Authenticator,
  allowAnonymous,
  basicAuthenticator,
  basicAuthorization,
  CredentialStore,
  type Principal,
  parseBasicAuthorization,
  ROUTE_ACCESS_KINDS,
  type RouteAccess,
} from './http-auth.js';
export { HttpError, REFUSED_LINGER_MS, sendError, statusOf } from './http-errors.js';
export { type FrontCall, FrontResponse, HttpFront, type HttpFrontOptions } from './http-front.js';
export {
  jsonpCallback,
  parseJsonBody,
  readBody,
  readFormBody,
  readJsonBody,
  readJsonBytes,
  sendEmpty,
  sendJson,
} from './http-io.js';
export {
  type Handler,
  HttpServer,
  type HttpServerOptions,
  LISTEN_BACKLOG,
  type RegisteredRoute,
  type Request,
  routeKey,
} from './http-server.js';
export {
  BodyDeadlines,
  DEFAULT_HTTP_TIMEOUTS,
  type HttpTimeouts,
  plainServerTimeouts,
  slowBodyReason,
} from './http-timeouts.js';
export {
  JSON_CHUNK_CHARS,
  jsonPieces,
  jsonText,
  LazyList,
  lazyList,
  type StreamJsonOptions,
  streamJson,
} from './json-stream.js';
export {
  clipForLog,
  createLogger,
  firstFew,
  type Logger,
  type LoggerOptions,
  silentLogger,
} from './logger.js';
export { listFiles, readFile } from './operator-files.js';
export type { StreamResponse } from './stream-response.js';
export {
  readServerTls,
  type ServerTls,
  type ServerTlsFiles,
  schemeOf,
  serverTlsFiles,
  TlsConfigError,
  tlsServerOptions,
} from './tls.js';
export { DEFAULT_TURN_BUDGET_MS, TurnBudget, type TurnBudgetOptions } from './turn-budget.js';

export type { ChunkStore } from './chunk-set.js';
export {
  DEFAULT_COMPACT_EVERY_OPS,
  EmbeddedRegistry,
  type EmbeddedRegistryOptions,
} from './embedded-registry.js';
export {
  RegistryClosedError,
  RegistryCorruptError,
  RegistryError,
  RegistryFailedError,
  RegistryFormatError,
  RegistryLockedError,
} from './errors.js';
export {
  DEFAULT_ETCD_CHUNK_BYTES,
  EtcdChunks,
  EtcdRegistry,
  type EtcdRegistryOptions,
} from './etcd-registry.js';
export {
  BatchingFrameworkStore,
  type FrameworkStore,
  type FrameworkStoreChange,
  FrameworkStoreInputError,
  InMemoryFrameworkStore,
  MAX_FRAMEWORK_BATCH_CHANGES,
  MAX_FRAMEWORK_KEY_CHARS,
  MAX_FRAMEWORK_VALUE_BYTES,
} from './framework-store.js';
export {
  ChunkedFrameworkStore,
  etcdFrameworkStore,
  zooKeeperFrameworkStore,
} from './framework-store-chunked.js';
export {
  EmbeddedFrameworkStore,
  type EmbeddedFrameworkStoreOptions,
} from './framework-store-embedded.js';
export { InMemoryRegistry, type InMemoryRegistryOptions } from './in-memory-registry.js';
export type { RecoveryReport, Registry, TornTail } from './registry.js';
export {
  type AgentDrainInfo,
  applyOperation,
  EMPTY_REGISTRY_STATE,
  MAX_REMOVED_FRAMEWORKS,
  type QuotaConfig,
  type RegisteredFramework,
  type RegistryOperation,
  type RegistryState,
  scheduleMachines,
} from './state.js';
export {
  DEFAULT_WARM_INTERVAL_MS,
  RegistryWarmer,
  type RegistryWarmerOptions,
} from './warm-registry.js';
export {
  DEFAULT_ZK_CHUNK_BYTES,
  ZooKeeperChunks,
  ZooKeeperRegistry,
  type ZooKeeperRegistryOptions,
} from './zookeeper-registry.js';

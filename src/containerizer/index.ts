export { CgroupLedger, ledgerIds } from './cgroup-ledger.js';
export {
  type CgroupLimits,
  type CgroupStatistics,
  type CgroupsDetection,
  type CgroupsHierarchy,
  type CgroupWrite,
  ContainerCgroup,
  detectCgroups,
  existingContainerCgroups,
  ownProcsFile,
} from './cgroups.js';
export { ComposingContainerizer, type OwningContainerizer } from './composing-containerizer.js';
export { DockerContainerizer, type DockerContainerizerOptions } from './docker-containerizer.js';
export { DockerEngine } from './docker-engine.js';
export { applyLayer, DockerImageStore, type StoredImage } from './docker-image-store.js';
export {
  CONTAINER_SANDBOX,
  DOCKER_LABELS,
  dockerName,
  isDockerContainer,
  planDockerRun,
} from './docker-plan.js';
export {
  hasImage,
  imageCommand,
  imageEnvironment,
  imageOf,
  parseImageConfig,
  parseImageReference,
  registryArchivePaths,
} from './image-runtime.js';
export {
  chooseIsolation,
  DEFAULT_CGROUPS_ROOT,
  DEFAULT_PIDS_MAX,
  detectHostCgroups,
  type IsolationChoice,
  type IsolationRequest,
} from './isolation.js';
export {
  LinuxFilesystemContainerizer,
  type LinuxFilesystemOptions,
  type ProvisionerBackend,
} from './linux-filesystem.js';
export {
  type Isolation,
  MesosContainerizer,
  type MesosContainerizerOptions,
} from './mesos-containerizer.js';
export {
  environHas,
  type ProcessStat,
  parseStat,
  processesWithEnvironment,
  readBootId,
  readStat,
} from './process-identity.js';
export { makeDirsRefusingLinks } from './sandbox-dirs.js';
export {
  joinArgv,
  parseTaskRecord,
  RUNTIME_FILES,
  runtimeFile,
  SHIM_FAILED_STATUS,
  shimScript,
} from './shim.js';
export { terminationFromShellStatus } from './termination.js';
export type {
  Container,
  Containerizer,
  KnownContainer,
  LaunchSpec,
  Limitation,
  ResourceLimits,
  ResourceStatistics,
  RunAsUser,
  Termination,
  VolumeMount,
} from './types.js';

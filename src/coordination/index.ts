export {
  type Candidacy,
  type Coordinator,
  DEFAULT_SESSION_TIMEOUT_MS,
} from './coordinator.js';
export { detectMaster, makeCoordinator, needsDetection } from './detect.js';
export { candidates, type ElectionNode, electionNode, leaderNode } from './election.js';
export { EtcdCoordinator, type EtcdCoordinatorOptions } from './etcd.js';
export { MasterDetector, type MasterDetectorOptions } from './master-detector.js';
export { masterHostPort, masterInfoJson, masterUrl, parseMasterInfo } from './master-info.js';
export { type CoordinatorUrl, isCoordinatorUrl, parseCoordinatorUrl } from './url.js';
export {
  type ZooKeeperClient,
  ZooKeeperCoordinator,
  type ZooKeeperCoordinatorOptions,
  ZooKeeperError,
  zkCall,
} from './zookeeper.js';

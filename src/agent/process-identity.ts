// The containerizer owns telling processes apart (it launches and recovers them);
// the agent's recovery reads the same facts.
export {
  environHas,
  type ProcessStat,
  parseStat,
  processesWithEnvironment,
  readBootId,
  readStat,
} from '../containerizer/index.js';

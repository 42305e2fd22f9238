import packageJson from '../../package.json' with { type: 'json' };

/** Agora's own release. */
export const AGORA_VERSION: string = packageJson.version;

/**
 * The Mesos release whose v1 API Agora speaks. Reported wherever Mesos reports
 * its version (`/version`, MasterInfo, `/master/state`), because clients gate
 * features on it.
 */
export const MESOS_API_VERSION = '1.11.0';

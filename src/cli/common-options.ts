// Flags several commands share. Their own module, so that `agora run`'s entry
// (run-spec.ts, bundled without the whole command table) shares them too.
import { CREDENTIAL_OPTIONS } from './credential-flags.js';

export const masterOption = {
  master: {
    type: 'string',
    placeholder: 'host:port',
    description: 'the master to talk to (also host:port,host:port, zk://…/path, etcd://…/path)',
    default: '$AGORA_MASTER, else 127.0.0.1:5050',
  },
  ...CREDENTIAL_OPTIONS,
} as const;

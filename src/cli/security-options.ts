// The daemons' security flags, named as Mesos names them (docs/authentication.md,
// docs/configuration/master.md and agent.md). Options only: the command table reads this
// for --help without loading any daemon code.
const httpAuthOptions = {
  authenticate_http_readonly: {
    type: 'boolean',
    description: 'require HTTP basic authentication on the read-only endpoints',
  },
  authenticate_http_readwrite: {
    type: 'boolean',
    description: 'require HTTP basic authentication on the endpoints that change state',
  },
} as const;

export const MASTER_SECURITY_OPTIONS = {
  ...httpAuthOptions,
  authenticate_http_frameworks: {
    type: 'boolean',
    description: 'require HTTP basic authentication on the scheduler API',
  },
  authenticate_frameworks: {
    type: 'boolean',
    description: 'the same as --authenticate_http_frameworks (Mesos: --authenticate)',
  },
  authenticate_agents: {
    type: 'boolean',
    description: 'only agents that authenticate (their --credential) may register',
  },
  acls: {
    type: 'string',
    placeholder: 'json|file',
    description: "who may do what, in Mesos' ACL JSON (register_frameworks, run_tasks, view_*, …)",
  },
  credentials: {
    type: 'string',
    placeholder: 'file',
    description:
      'accepted credentials: {"credentials":[{"principal":…,"secret":…}]} or principal secret lines',
  },
} as const;

export const AGENT_SECURITY_OPTIONS = {
  ...httpAuthOptions,
  acls: {
    type: 'string',
    placeholder: 'json|file',
    description: "who may use the agent's endpoints, in Mesos' ACL JSON (get_endpoints)",
  },
  http_credentials: {
    type: 'string',
    placeholder: 'file',
    description: "credentials accepted on the agent's own endpoints (format of the master's)",
  },
  credential: {
    type: 'string',
    placeholder: 'file',
    description:
      'what the agent authenticates to the master with: {"principal":…,"secret":…} or one line',
  },
} as const;

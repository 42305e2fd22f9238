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

// TLS (docs/ssl.md): Mesos takes these only as LIBPROCESS_SSL_* variables, which are
// accepted too; a flag wins over its variable.
const tlsOptions = {
  ssl_cert_file: {
    type: 'string',
    placeholder: 'file',
    description: 'serve every endpoint over HTTPS only, with this PEM certificate',
    default: '$LIBPROCESS_SSL_CERT_FILE (with LIBPROCESS_SSL_ENABLED=true)',
  },
  ssl_key_file: {
    type: 'string',
    placeholder: 'file',
    description: "the certificate's PEM private key",
    default: '$LIBPROCESS_SSL_KEY_FILE',
  },
  ssl_ca_file: {
    type: 'string',
    placeholder: 'file',
    description: 'the PEM CA that peers (the master, agents, clients) are checked against',
    default: '$LIBPROCESS_SSL_CA_FILE',
  },
  ssl_require_client_cert: {
    type: 'boolean',
    description: 'refuse a client that shows no certificate signed by --ssl_ca_file',
  },
} as const;

// Against slow clients (slowloris): Agora's own, Mesos has none. Answers are not timed.
const httpTimeoutOptions = {
  http_headers_timeout: {
    type: 'string',
    placeholder: 'duration',
    description: "a request's line and headers must arrive within this long (408 and closed)",
    default: '20secs',
  },
  http_body_timeout: {
    type: 'string',
    placeholder: 'duration',
    description:
      'a request body gets this long, then must keep arriving at 8KB/s or more (408 and closed)',
    default: '20secs',
  },
} as const;

export const MASTER_SECURITY_OPTIONS = {
  ...httpAuthOptions,
  ...tlsOptions,
  ...httpTimeoutOptions,
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
  ...tlsOptions,
  ...httpTimeoutOptions,
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
  executor_secret_key: {
    type: 'string',
    placeholder: 'file',
    description:
      "sign each executor's token (MESOS_EXECUTOR_AUTHENTICATION_TOKEN) with this key; the executor API then requires it",
  },
  credential: {
    type: 'string',
    placeholder: 'file',
    description:
      'what the agent authenticates to the master with: {"principal":…,"secret":…} or one line',
  },
} as const;

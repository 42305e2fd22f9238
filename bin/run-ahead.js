// `agora run`'s SUBSCRIBE, sent before the run bundle loads (#7 item 17). Loading and
// starting the bundle takes ~5 ms of CPU after node's own start, and the master then needs a
// round trip to answer SUBSCRIBE with SUBSCRIBED and its first OFFERS; sent from here, the
// request is on the wire after the first turn of the event loop, and the master answers
// while the bundle loads (bin/agora.js loads it in that turn's check phase).
//
// Only for the plain case, where what the bundle would send is certain: `--master`,
// `--name`, `--role` (each at most once), then `--` and the command; a plain host:port (or
// http://) master; no TLS, no credential from the environment. Anything else, and the
// bundle sends its own. The bundle's HTTP client (src/sdk/lean-http.ts `takeSentAhead`)
// takes this connection only if the request it would write is byte for byte this one;
// else it closes it. test/cli/run-ahead.test.ts checks both agree on every case sent here.
//
// What is sent here duplicates src/frameworks/run.ts (the framework's info), the SDK's
// subscribe (the call's shape) and lean-http's request head: kept short, and the test
// breaks when one side changes.
'use strict';

/** The registered key the bundle's lean-http reads (SENT_AHEAD_KEY there). */
const SENT_AHEAD_KEY = Symbol.for('agora.sentAhead');
/** The registered key src/cli/run.ts reads for a signal that came before its handlers. */
const EARLY_SIGNALS_KEY = Symbol.for('agora.run.earlySignals');
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const SIGNAL_NUMBERS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };
/** src/frameworks/run.ts DEFAULT_FAILOVER_TIMEOUT_MS, in seconds. */
const FAILOVER_TIMEOUT_S = 300;
const VALUE_FLAGS = new Set(['master', 'name', 'role']);

/** `run`'s arguments to the few values that shape the SUBSCRIBE, or undefined if not plain. */
function plainRunArguments(args) {
  const values = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') return i + 1 < args.length ? values : undefined;
    if (!arg.startsWith('--')) return undefined;
    const equals = arg.indexOf('=');
    const name = equals < 0 ? arg.slice(2) : arg.slice(2, equals);
    if (!VALUE_FLAGS.has(name) || name in values) return undefined;
    const value = equals < 0 ? args[++i] : arg.slice(equals + 1);
    if (value === undefined || value === '' || value.startsWith('-')) return undefined;
    values[name] = value;
  }
  return undefined;
}

/** The master's base URL for a plain address, or undefined. */
function plainMaster(address) {
  if (/^(zk|etcd|file|https):/i.test(address) || address.includes(',')) return undefined;
  try {
    const url = new URL(/^[a-z]+:\/\//i.test(address) ? address : `http://${address}`);
    return url.protocol === 'http:' ? new URL(`http://${url.host}`) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The SUBSCRIBE request `agora run <args>` would send first, as text with its URL, or
 * undefined when it is not certain (see the header). `username`: the framework's user.
 */
function subscribeRequest(args, env, username) {
  if (/^(1|true|yes)$/i.test(env.LIBPROCESS_SSL_ENABLED ?? '')) return undefined;
  if (env.AGORA_PRINCIPAL !== undefined || env.AGORA_SECRET !== undefined) return undefined;
  const values = plainRunArguments(args);
  if (values === undefined) return undefined;
  const master = plainMaster(values.master ?? env.AGORA_MASTER ?? '127.0.0.1:5050');
  if (master === undefined) return undefined;
  const url = new URL('/api/v1/scheduler', master);
  const body = JSON.stringify({
    type: 'SUBSCRIBE',
    subscribe: {
      framework_info: {
        user: username,
        name: values.name ?? 'agora-run',
        role: values.role ?? '*',
        failover_timeout: FAILOVER_TIMEOUT_S,
        capabilities: [{ type: 'TASK_KILLING_STATE' }, { type: 'PARTITION_AWARE' }],
      },
    },
  });
  const head = [
    `POST ${url.pathname} HTTP/1.1`,
    `host: ${url.host}`,
    'content-type: application/json',
    'accept: application/json',
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
  ];
  return { url, text: `${head.join('\r\n')}\r\n\r\n${body}` };
}

/**
 * Connects to the master and writes the SUBSCRIBE for `agora run <args>`, if plain; the
 * socket stays paused (the answer waits in the kernel for the bundle). Returns whether it
 * did; then the caller loads the bundle a turn later (setImmediate), after the write.
 */
function sendAhead(args, env = process.env) {
  let request;
  let socket;
  try {
    // userInfo() throws for a user without a passwd entry: run.ts words that error itself.
    request = subscribeRequest(args, env, require('node:os').userInfo().username);
    if (request === undefined) return false;
    const { connect } = require('node:net');
    socket = connect({ host: request.url.hostname, port: Number(request.url.port || 80) });
  } catch {
    return false;
  }
  socket.setNoDelay(true);
  socket.pause();
  const ahead = { origin: request.url.origin, request: request.text, socket, failed: false };
  // A master that is not there: the bundle then sends its own request and words the error.
  socket.once('error', () => {
    ahead.failed = true;
  });
  socket.write(request.text);
  globalThis[SENT_AHEAD_KEY] = ahead;
  holdSignals();
  return true;
}

/**
 * From the SUBSCRIBE on, a framework exists: a Ctrl-C before the bundle's own handlers
 * (src/cli/run.ts) must not kill the process as node's default would, leaving the master a
 * framework nobody follows, but end the run as one at any stage does. The first signal is
 * kept for run.ts, which acts on it once its handlers are on; a second exits at once.
 */
function holdSignals() {
  let first;
  const onSignal = (signal) => {
    if (first !== undefined) process.exit(128 + (SIGNAL_NUMBERS[signal] ?? 15));
    first = signal;
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
  globalThis[EARLY_SIGNALS_KEY] = {
    /** Stops holding signals; returns the first that came, if any. */
    release() {
      for (const signal of SIGNALS) process.off(signal, onSignal);
      delete globalThis[EARLY_SIGNALS_KEY];
      return first;
    },
  };
}

module.exports = { sendAhead, subscribeRequest, SENT_AHEAD_KEY, EARLY_SIGNALS_KEY };

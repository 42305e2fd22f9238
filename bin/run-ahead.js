// `agora run`'s first calls, made before the run bundle loads (#7 item 17). A client that
// does only SUBSCRIBE, the first OFFERS and the ACCEPT starts its task ~5 ms sooner than the
// bundle, whose code cache, module set-up and SDK run first on that path (bench/cli-floor.ts,
// bench/RESULTS.md "Task start, ninth pass"); so for plain arguments this prelude does those
// three itself and loads the bundle at the task's first update; the bundle carries on from there.
//
// Only for the plain case, where what the bundle would send is certain: `--master`,
// `--name`, `--role` (each at most once), then `--` and the command; a plain host:port (or
// http://) master; no TLS, no credential from the environment, not under `npm exec`.
// Anything else, and the bundle does it all. The bundle's HTTP client (src/sdk/lean-http.ts
// `takeSentAhead`) takes this connection, with every byte read here put back in front, only
// if the request it would write is byte for byte this one; else it closes it. Its framework
// (src/frameworks/run.ts) takes the launch (LAUNCHED_AHEAD_KEY) instead of accepting the
// offer again. test/cli/run-ahead.test.ts checks that both agree: the SUBSCRIBE, the offer
// chosen (against src/placement's min-delay) and the ACCEPT.
//
// What is sent here duplicates src/frameworks/run.ts (the framework's info, the task, the
// offer's choice), the SDK's calls and lean-http's request head: kept short, and the test
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

/**
 * The scheduler endpoint of a plain address (`host`, `hostname`, `port`, `origin`, `href` as a
 * URL's), or undefined. An IPv4 address with a port other than 80 (`127.0.0.1:5050`, the usual
 * form) is read by hand, as a URL would normalize it: node's first `new URL` costs ~0.5 ms.
 */
function plainMaster(address) {
  if (/^(zk|etcd|file|https):/i.test(address) || address.includes(',')) return undefined;
  const plain =
    /^(?:http:\/\/)?((?:(?:0|[1-9]\d{0,2})\.){3}(?:0|[1-9]\d{0,2})):([1-9]\d{0,4})\/?$/i.exec(
      address,
    );
  if (
    plain?.[1].split('.').every((octet) => Number(octet) <= 255) === true &&
    Number(plain[2]) <= 65535 &&
    plain[2] !== '80'
  )
    return endpoint(plain[1], plain[2]);
  try {
    const url = new URL(/^[a-z]+:\/\//i.test(address) ? address : `http://${address}`);
    return url.protocol === 'http:' ? endpoint(url.hostname, url.port) : undefined;
  } catch {
    return undefined;
  }
}

function endpoint(hostname, port) {
  const host = port === '' ? hostname : `${hostname}:${port}`;
  return {
    hostname: hostname.replace(/^\[|\]$/g, ''),
    port,
    host,
    origin: `http://${host}`,
    href: `http://${host}/api/v1/scheduler`,
  };
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
  const url = master;
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
    'POST /api/v1/scheduler HTTP/1.1',
    `host: ${url.host}`,
    'content-type: application/json',
    'accept: application/json',
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
  ];
  return { url, text: `${head.join('\r\n')}\r\n\r\n${body}` };
}

/** src/frameworks/run.ts's task demand with no --cpus/--mem/--resources: 0.1 cpus, 32 MB. */
const DEMAND = { cpus: 0.1, mem: 32 };
/** The registered key src/cli/run.ts reads for the task launched here (LAUNCHED_AHEAD_KEY). */
const LAUNCHED_AHEAD_KEY = Symbol.for('agora.run.launchedAhead');
/** After the ACCEPT's answer, how long to wait for the task's first update before handing over. */
const FIRST_UPDATE_WAIT_MS = 200;
/** A head or a buffer this long is not what this prelude expects: hand over. */
const MAX_BYTES = 1024 * 1024;

/**
 * The offer src/frameworks/run.ts's bestOffer() would take of `offers` (their JSON), or
 * undefined if some offer holds what this prelude does not judge (reservations, revocable or
 * shared resources, non-scalar resources other than ports, allocation to another role), or
 * none fits. With several that fit: min-delay for one task (src/placement), in thousandths.
 */
function chooseOffer(offers) {
  const names = ['cpus', 'mem', 'disk'];
  const fitting = [];
  for (const offer of offers) {
    const free = { cpus: 0, mem: 0, disk: 0 };
    for (const r of offer.resources ?? []) {
      const plain =
        (r.role === undefined || r.role === '*') &&
        r.reservation === undefined &&
        (r.reservations === undefined || r.reservations.length === 0) &&
        r.disk === undefined &&
        r.revocable === undefined &&
        r.shared === undefined &&
        r.provider_id === undefined;
      if (!plain) return undefined;
      if (r.type === 'SCALAR' && names.includes(r.name))
        free[r.name] += Math.round(r.scalar.value * 1000);
      else if (!(r.type === 'RANGES' && r.name === 'ports')) return undefined;
    }
    if (free.cpus >= DEMAND.cpus * 1000 && free.mem >= DEMAND.mem * 1000)
      fitting.push({ offer, free });
  }
  if (fitting.length <= 1) return fitting[0]?.offer;
  // min-delay (src/placement/model.ts): C_k the fitting offers' free summed, ω_k = (r_k/C_k)
  // normalized so the dominant share weighs 1, cost = Σ ω_k r_k / s_jk; the first on a tie.
  const demand = { cpus: DEMAND.cpus * 1000, mem: DEMAND.mem * 1000, disk: 0 };
  const capacity = { cpus: 0, mem: 0, disk: 0 };
  for (const { free } of fitting) for (const k of names) capacity[k] += free[k];
  const shares = names.map((k) => (capacity[k] > 0 ? demand[k] / capacity[k] : 0));
  const dominant = Math.max(0, ...shares);
  let best;
  let bestCost = Number.POSITIVE_INFINITY;
  for (const { offer, free } of fitting) {
    let cost = 0;
    names.forEach((k, i) => {
      const weight = dominant > 0 ? shares[i] / dominant : 0;
      if (weight > 0) cost += (weight * demand[k]) / free[k];
    });
    if (best === undefined || cost < bestCost) {
      best = offer;
      bestCost = cost;
    }
  }
  return best;
}

/** The ACCEPT src/frameworks/run.ts sends for `offer`, as JSON text. */
function acceptBody(frameworkId, offer, taskId, name, command) {
  return JSON.stringify({
    framework_id: frameworkId,
    type: 'ACCEPT',
    accept: {
      offer_ids: [offer.id],
      operations: [
        {
          type: 'LAUNCH',
          launch: {
            task_infos: [
              {
                name,
                task_id: { value: taskId },
                agent_id: offer.agent_id,
                resources: [
                  { name: 'cpus', type: 'SCALAR', scalar: { value: DEMAND.cpus }, role: '*' },
                  { name: 'mem', type: 'SCALAR', scalar: { value: DEMAND.mem }, role: '*' },
                ],
                command,
              },
            ],
          },
        },
      ],
      filters: { refuse_seconds: 3600 },
    },
  });
}

/** src/cli/run.ts commandInfo() without --env: one argument through the shell, more as argv. */
function commandOf(args) {
  const command = args.slice(args.indexOf('--') + 1);
  const [first, ...rest] = command;
  return rest.length === 0
    ? { shell: true, value: first }
    : { shell: false, value: first, arguments: command };
}

/**
 * For plain arguments (see the header), does `agora run`'s first three calls itself: writes
 * the SUBSCRIBE, reads SUBSCRIBED and the first OFFERS, takes the offer the bundle would take
 * and writes its ACCEPT, then calls `load` (which loads the run bundle) at the task's first
 * update: code loaded between the ACCEPT and the task's start takes the CPU its launch needs
 * (bench/RESULTS.md, "Task start, ninth pass"). Anything it does not expect, and any signal,
 * hands over at once. The bundle then reads every byte read here again from the start (the
 * SDK's lean-http takes the socket, src/sdk/sent-ahead.ts) and takes the launch as its own
 * (LAUNCHED_AHEAD_KEY, src/cli/run.ts). Returns false, having done nothing, if not plain.
 */
function runAhead(args, load, env = process.env) {
  let request;
  let username;
  try {
    // userInfo() throws for a user without a passwd entry: run.ts words that error itself.
    username = require('node:os').userInfo().username;
    request = subscribeRequest(args, env, username);
  } catch {
    return false;
  }
  if (request === undefined || env.npm_command === 'exec') return false;
  const { connect } = require('node:net');
  const port = Number(request.url.port || 80);
  const socket = connect({ host: request.url.hostname, port });
  socket.setNoDelay(true);
  // The ACCEPT's connection, made beside the SUBSCRIBE (as the SDK's preconnect does).
  const calls = connect({ host: request.url.hostname, port });
  calls.setNoDelay(true);
  calls.on('error', () => undefined);
  const ahead = {
    origin: request.url.origin,
    request: request.text,
    socket,
    failed: false,
    bytes: [],
  };
  let isHandedOver = false;
  const handOver = () => {
    if (isHandedOver) return;
    isHandedOver = true;
    socket.removeListener('data', onData);
    socket.pause();
    calls.destroy();
    clearTimeout(updateTimer);
    // Out of this socket's event: the bundle's first run owns the stack from here.
    setImmediate(load);
  };
  socket.once('error', () => {
    ahead.failed = true;
    handOver();
  });
  socket.write(request.text);
  globalThis[SENT_AHEAD_KEY] = ahead;
  holdSignals(handOver);

  const name = plainRunArguments(args)?.name ?? 'agora-run';
  let raw = Buffer.alloc(0);
  let body = Buffer.alloc(0);
  let isHead = true;
  let streamId;
  let frameworkId;
  let taskId;
  let updateTimer;
  let total = 0;
  const onEvent = (event) => {
    if (event.type === 'HEARTBEAT') return;
    if (frameworkId === undefined) {
      if (event.type !== 'SUBSCRIBED') return handOver();
      frameworkId = event.subscribed.framework_id;
      return;
    }
    if (taskId !== undefined) {
      // Launched: the task's first update (or anything else) is the bundle's to read, and to
      // acknowledge: the agent sends the next one only then.
      return handOver();
    }
    if (event.type !== 'OFFERS') return handOver();
    const offer = chooseOffer(event.offers.offers);
    if (offer === undefined || calls.destroyed) return handOver();
    // As src/frameworks/run.ts mints it: unique within the framework, told apart in listings.
    const suffix = Math.floor(Math.random() * 2 ** 48)
      .toString(16)
      .padStart(12, '0');
    taskId = `${name}-${suffix}`;
    const text = acceptBody(frameworkId, offer, taskId, name, commandOf(args));
    const launched = { taskId, offerId: offer.id.value, answer: undefined };
    globalThis[LAUNCHED_AHEAD_KEY] = launched;
    let answer = '';
    calls.on('data', (chunk) => {
      answer += chunk.toString('latin1');
      const end = answer.indexOf('\r\n\r\n');
      if (end < 0 || launched.answer !== undefined) return;
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1] ?? 0);
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(answer.slice(0, end))?.[1] ?? 0);
      if (answer.length < end + 4 + length) return;
      launched.answer = { status, body: answer.slice(end + 4, end + 4 + length) };
      if (status !== 202) return handOver();
      updateTimer = setTimeout(handOver, FIRST_UPDATE_WAIT_MS);
    });
    calls.on('close', () => {
      if (launched.answer === undefined) handOver();
    });
    calls.write(
      `POST /api/v1/scheduler HTTP/1.1\r\nhost: ${request.url.host}\r\ncontent-type: application/json\r\naccept: application/json\r\nmesos-stream-id: ${streamId}\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: keep-alive\r\n\r\n${text}`,
    );
  };
  const onData = (chunk) => {
    ahead.bytes.push(chunk);
    total += chunk.length;
    if (total > MAX_BYTES) return handOver();
    raw = raw.length === 0 ? chunk : Buffer.concat([raw, chunk]);
    try {
      if (isHead) {
        const end = raw.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = raw.subarray(0, end).toString('latin1');
        streamId = /\r\nmesos-stream-id: *([^\r]*)/i.exec(head)?.[1];
        if (
          !/^HTTP\/1\.1 200 /.test(head) ||
          streamId === undefined ||
          !/\r\ntransfer-encoding: *chunked/i.test(head)
        )
          return handOver();
        raw = raw.subarray(end + 4);
        isHead = false;
      }
      for (;;) {
        const line = raw.indexOf('\r\n');
        if (line < 0) break;
        const size = Number.parseInt(raw.subarray(0, line).toString('latin1'), 16);
        if (!(size > 0)) return handOver();
        if (raw.length < line + 2 + size + 2) break;
        body = Buffer.concat([body, raw.subarray(line + 2, line + 2 + size)]);
        raw = raw.subarray(line + 4 + size);
      }
      for (;;) {
        const newline = body.indexOf(10);
        if (newline < 0) break;
        const length = Number(body.subarray(0, newline).toString('latin1'));
        if (body.length < newline + 1 + length) break;
        const event = JSON.parse(body.subarray(newline + 1, newline + 1 + length).toString('utf8'));
        body = body.subarray(newline + 1 + length);
        onEvent(event);
        if (isHandedOver) return;
      }
    } catch {
      handOver();
    }
  };
  socket.on('data', onData);
  return true;
}

/**
 * From the SUBSCRIBE on, a framework exists: a Ctrl-C before the bundle's own handlers
 * (src/cli/run.ts) must not kill the process as node's default would, leaving the master a
 * framework nobody follows, but end the run as one at any stage does. The first signal is
 * kept for run.ts, which acts on it once its handlers are on; a second exits at once.
 */
function holdSignals(onFirst) {
  let first;
  const onSignal = (signal) => {
    if (first !== undefined) process.exit(128 + (SIGNAL_NUMBERS[signal] ?? 15));
    first = signal;
    onFirst();
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

module.exports = {
  runAhead,
  subscribeRequest,
  chooseOffer,
  acceptBody,
  SENT_AHEAD_KEY,
  EARLY_SIGNALS_KEY,
  LAUNCHED_AHEAD_KEY,
};

// The least a Node `agora run` can do (bench/cli-floor.ts): SUBSCRIBE, take the first
// offer that fits 0.1 cpus / 32 MB, ACCEPT on a connection opened beside the SUBSCRIBE,
// acknowledge updates, TEARDOWN and exit with 0 at TASK_FINISHED (1 otherwise). No flags,
// no output streaming, no failover, no signals: a floor to measure against, not a client.
// AGORA_MIN_RUN_BUSY_MS=n: n ms of busy CPU once the ACCEPT is answered, as a client that
// loads the rest of itself only then (a full bundle for streaming, failover, signals) would;
// with AGORA_MIN_RUN_BUSY_AT=update, at the task's first update (TASK_STARTING) instead.
'use strict';
const { connect } = require('node:net');
const { userInfo } = require('node:os');

const master = process.argv[2];
const [host, port] = master.split(':');
const taskId = `floor-${Math.floor(Math.random() * 2 ** 48).toString(16)}`;
const TERMINAL = new Set([
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_LOST',
  'TASK_ERROR',
  'TASK_DROPPED',
  'TASK_GONE',
]);

function open() {
  const socket = connect({ host, port: Number(port) });
  socket.setNoDelay(true);
  socket.on('error', (error) => {
    process.stderr.write(`min-run: ${error.message}\n`);
    process.exit(125);
  });
  return socket;
}
function request(body, streamId, close) {
  return `POST /api/v1/scheduler HTTP/1.1\r\nhost: ${master}\r\ncontent-type: application/json\r\naccept: application/json\r\n${streamId ? `mesos-stream-id: ${streamId}\r\n` : ''}content-length: ${Buffer.byteLength(body)}\r\nconnection: ${close ? 'close' : 'keep-alive'}\r\n\r\n${body}`;
}

// Calls go one at a time on one keep-alive socket (answers are 202 with no body).
const calls = open();
const queue = [];
let inFlight = false;
let answers = '';
function call(body, then) {
  queue.push({ body, then });
  pump();
}
function pump() {
  if (inFlight || queue.length === 0) return;
  inFlight = true;
  calls.write(request(JSON.stringify(queue[0].body), streamId, false));
}
calls.on('data', (chunk) => {
  answers += chunk.toString('latin1');
  for (let end = answers.indexOf('\r\n\r\n'); end >= 0; end = answers.indexOf('\r\n\r\n')) {
    answers = answers.slice(end + 4);
    const done = queue.shift();
    inFlight = false;
    done.then?.();
    pump();
  }
});

const events = open();
events.on('connect', () => {
  const body = JSON.stringify({
    type: 'SUBSCRIBE',
    subscribe: {
      framework_info: {
        user: userInfo().username,
        name: 'agora-run',
        role: '*',
        failover_timeout: 300,
        capabilities: [{ type: 'TASK_KILLING_STATE' }, { type: 'PARTITION_AWARE' }],
      },
    },
  });
  events.write(request(body, undefined, true));
});
let streamId;
let frameworkId;
let launched = false;
let pending = Buffer.alloc(0); // de-chunked body not yet parsed into records
let raw = Buffer.alloc(0);
let inBody = false;
events.on('data', (chunk) => {
  raw = Buffer.concat([raw, chunk]);
  if (!inBody) {
    const end = raw.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = raw.subarray(0, end).toString('latin1');
    streamId = /\r\nmesos-stream-id: *([^\r]+)/i.exec(head)?.[1];
    raw = raw.subarray(end + 4);
    inBody = true;
  }
  // Chunked framing.
  for (;;) {
    const line = raw.indexOf('\r\n');
    if (line < 0) break;
    const size = Number.parseInt(raw.subarray(0, line).toString('latin1'), 16);
    if (raw.length < line + 2 + size + 2) break;
    pending = Buffer.concat([pending, raw.subarray(line + 2, line + 2 + size)]);
    raw = raw.subarray(line + 2 + size + 2);
  }
  // RecordIO framing.
  for (;;) {
    const nl = pending.indexOf(10);
    if (nl < 0) break;
    const length = Number(pending.subarray(0, nl).toString('latin1'));
    if (pending.length < nl + 1 + length) break;
    onEvent(JSON.parse(pending.subarray(nl + 1, nl + 1 + length).toString('utf8')));
    pending = pending.subarray(nl + 1 + length);
  }
});

let busyDone = false;
function busy() {
  if (busyDone) return;
  busyDone = true;
  const busyMs = Number(process.env.AGORA_MIN_RUN_BUSY_MS ?? 0);
  for (const end = performance.now() + busyMs; performance.now() < end; );
}

function scalar(resources, name) {
  let sum = 0;
  for (const r of resources) if (r.name === name && r.type === 'SCALAR') sum += r.scalar.value;
  return sum;
}

function onEvent(event) {
  if (event.type === 'SUBSCRIBED') frameworkId = event.subscribed.framework_id;
  else if (event.type === 'OFFERS' && !launched) {
    const offers = event.offers.offers;
    const fit = offers.find(
      (o) => scalar(o.resources, 'cpus') >= 0.1 && scalar(o.resources, 'mem') >= 32,
    );
    if (fit === undefined) return;
    launched = true;
    call(
      {
        framework_id: frameworkId,
        type: 'ACCEPT',
        accept: {
          offer_ids: [fit.id],
          operations: [
            {
              type: 'LAUNCH',
              launch: {
                task_infos: [
                  {
                    name: 'agora-run',
                    task_id: { value: taskId },
                    agent_id: fit.agent_id,
                    resources: [
                      { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 }, role: '*' },
                      { name: 'mem', type: 'SCALAR', scalar: { value: 32 }, role: '*' },
                    ],
                    command: { shell: true, value: process.argv[3] },
                  },
                ],
              },
            },
          ],
          filters: { refuse_seconds: 3600 },
        },
      },
      () => {
        if (process.env.AGORA_MIN_RUN_BUSY_AT !== 'update') busy();
        const others = offers.filter((o) => o !== fit).map((o) => o.id);
        if (others.length > 0)
          call({
            framework_id: frameworkId,
            type: 'DECLINE',
            decline: { offer_ids: others, filters: { refuse_seconds: 3600 } },
          });
        call({ framework_id: frameworkId, type: 'SUPPRESS', suppress: { roles: [] } });
      },
    );
  } else if (event.type === 'UPDATE' && event.update.status.task_id.value === taskId) {
    const status = event.update.status;
    if (process.env.AGORA_MIN_RUN_BUSY_AT === 'update') busy();
    process.stderr.write(`min-run: ${status.state}\n`);
    if (status.uuid !== undefined)
      call({
        framework_id: frameworkId,
        type: 'ACKNOWLEDGE',
        acknowledge: { agent_id: status.agent_id, task_id: status.task_id, uuid: status.uuid },
      });
    if (TERMINAL.has(status.state))
      call({ framework_id: frameworkId, type: 'TEARDOWN' }, () =>
        process.exit(status.state === 'TASK_FINISHED' ? 0 : 1),
      );
  }
}

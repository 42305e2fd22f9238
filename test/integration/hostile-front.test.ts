// Hostile and odd requests on the agent API's path, sent byte by byte over raw sockets to a
// master with its connection front (runtime/http-front.ts) and to one without: each must be
// answered the same (the same status, or the same silence), and neither master may crash or
// stall. The front takes only the exact shape of an agent's SUBSCRIBE; everything else here
// is node:http's, with the bytes the front read handed back.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import type { Master } from '../../src/master/master.js';
import { rehearsalAgent, rehearsalSubscribe } from '../../src/master/warm-up.js';
import {
  applyOperation,
  EMPTY_REGISTRY_STATE,
  InMemoryRegistry,
} from '../../src/registry/index.js';
import { ManualClock } from '../../src/runtime/index.js';
import { testMaster } from '../master/daemon-routes.js';

const INFOS = Array.from({ length: 64 }, (_, i) => rehearsalAgent(i));
const ADMITTED = INFOS.reduce(
  (state, agent) => applyOperation(state, { kind: 'admitAgent', agent }),
  EMPTY_REGISTRY_STATE,
);

function hostileMaster(isAgentFrontOn: boolean): Master {
  return testMaster({
    registry: new InMemoryRegistry({ initial: ADMITTED }),
    clock: new ManualClock(1_700_000_000_000),
    // Short, so that the slow senders' cases end within seconds.
    httpTimeouts: {
      headersMs: 1000,
      bodyGraceMs: 1000,
      minBodyBytesPerSecond: 64 * 1024,
      bodyMaxMs: 5000,
    },
    isAgentFrontOn,
  });
}

function body(i: number): Buffer {
  const info = INFOS[i];
  assert.ok(info !== undefined);
  return Buffer.from(JSON.stringify(rehearsalSubscribe(info, i, 3)));
}

/** The head an agent sends, with its header lines replaceable: [name, value] in order. */
function head(lines: readonly (readonly [string, string])[], requestLine?: string): Buffer {
  let text = `${requestLine ?? 'POST /master/api/v1/agent HTTP/1.1'}\r\n`;
  for (const [name, value] of lines) text += `${name}: ${value}\r\n`;
  return Buffer.from(`${text}\r\n`, 'latin1');
}

function agentLines(length: number, host = '127.0.0.1:5050'): [string, string][] {
  return [
    ['content-type', 'application/json'],
    ['accept', 'application/json'],
    ['content-length', String(length)],
    ['Host', host],
    ['Connection', 'close'],
  ];
}

/** What a client does: write bytes, wait, or half-close. */
type Step = Buffer | { readonly waitMs: number } | 'end';

interface Case {
  readonly name: string;
  readonly steps: (i: number) => Step[];
  /** What node:http and Agora answer today. */
  readonly expected: string;
}

function subscribe(i: number, edit: (lines: [string, string][]) => [string, string][]): Buffer {
  const bytes = body(i);
  return Buffer.concat([head(edit(agentLines(bytes.length))), bytes]);
}

const CASES: readonly Case[] = [
  { name: 'the agent SUBSCRIBE', steps: (i) => [subscribe(i, (l) => l)], expected: '200' },
  {
    name: 'header names in other cases',
    steps: (i) => [
      subscribe(i, (l) => l.map(([n, v]) => [n.toUpperCase(), v] as [string, string])),
    ],
    expected: '200',
  },
  {
    name: 'a duplicate Content-Length',
    steps: (i) => [subscribe(i, (l) => [...l, ['Content-Length', l[2]?.[1] ?? '']])],
    expected: '400',
  },
  {
    name: 'a duplicate Accept',
    steps: (i) => [subscribe(i, (l) => [...l, ['accept', 'application/json']])],
    expected: '200',
  },
  {
    name: 'a header the shape has not',
    steps: (i) => [subscribe(i, (l) => [...l, ['x-extra', '1']])],
    expected: '200',
  },
  {
    name: 'an Authorization header (no authentication configured)',
    steps: (i) => [subscribe(i, (l) => [...l, ['Authorization', 'Basic Zm9vOmJhcg==']])],
    expected: '200',
  },
  {
    name: 'Expect: 100-continue',
    steps: (i) => [subscribe(i, (l) => [...l, ['Expect', '100-continue']])],
    expected: '100',
  },
  {
    name: 'keep-alive',
    steps: (i) => [subscribe(i, (l) => l.filter(([n]) => n !== 'Connection'))],
    expected: '200',
  },
  {
    name: 'Transfer-Encoding: chunked',
    steps: (i) => {
      const bytes = body(i);
      const lines = agentLines(0).filter(([n]) => n !== 'content-length');
      return [
        head([...lines, ['Transfer-Encoding', 'chunked']]),
        Buffer.from(`${bytes.length.toString(16)}\r\n`),
        bytes,
        Buffer.from('\r\n0\r\n\r\n'),
      ];
    },
    expected: '200',
  },
  {
    name: 'HTTP/1.0',
    steps: (i) => {
      const bytes = body(i);
      return [
        Buffer.concat([
          head(agentLines(bytes.length), 'POST /master/api/v1/agent HTTP/1.0'),
          bytes,
        ]),
      ];
    },
    expected: '200',
  },
  {
    // node:http refuses data after a `Connection: close` request before it answers.
    name: 'a body longer than its Content-Length',
    steps: (i) => [Buffer.concat([subscribe(i, (l) => l), Buffer.from('{}')])],
    expected: '400',
  },
  {
    name: 'a second request pipelined',
    steps: (i) => [Buffer.concat([subscribe(i, (l) => l), subscribe(i, (l) => l)])],
    expected: '400',
  },
  {
    name: 'a body shorter than its Content-Length, then silence',
    steps: (i) => [subscribe(i, (l) => l).subarray(0, -10)],
    expected: '408',
  },
  {
    name: 'a body shorter than its Content-Length, then FIN',
    steps: (i) => [subscribe(i, (l) => l).subarray(0, -10), 'end'],
    expected: '400',
  },
  {
    name: 'half a head, then FIN',
    steps: (i) => [subscribe(i, (l) => l).subarray(0, 60), 'end'],
    expected: '400',
  },
  {
    name: 'a whole SUBSCRIBE, then FIN',
    steps: (i) => [subscribe(i, (l) => l), 'end'],
    expected: 'closed',
  },
  {
    name: 'a head of 20 KiB',
    steps: (i) => [subscribe(i, (l) => [...l, ['x-pad', 'p'.repeat(20 * 1024)]])],
    expected: '431',
  },
  {
    name: 'a slowloris head',
    steps: (i) => {
      const bytes = subscribe(i, (l) => l);
      const steps: Step[] = [];
      for (let at = 0; at < 40; at++) steps.push(bytes.subarray(at, at + 1), { waitMs: 150 });
      return steps;
    },
    expected: '408',
  },
  {
    name: 'a PONG in the SUBSCRIBE shape',
    steps: () => {
      const bytes = Buffer.from('{"type":"PONG","agent_id":{"value":"rehearsal-agent-1"}}');
      return [Buffer.concat([head(agentLines(bytes.length)), bytes])];
    },
    expected: '403',
  },
  {
    name: 'a SUBSCRIBE that does not parse',
    steps: () => {
      const bytes = Buffer.from('{"type":"SUBSCRIBE", nope');
      return [Buffer.concat([head(agentLines(bytes.length)), bytes])];
    },
    expected: '400',
  },
  {
    name: 'a SUBSCRIBE refused by validation',
    steps: () => {
      const bytes = Buffer.from('{"type":"SUBSCRIBE","subscribe":{}}');
      return [Buffer.concat([head(agentLines(bytes.length)), bytes])];
    },
    expected: '400',
  },
  {
    name: 'another content type',
    steps: (i) => [
      subscribe(i, (l) =>
        l.map(([n, v]) => (n === 'content-type' ? [n, 'text/plain'] : [n, v]) as [string, string]),
      ),
    ],
    expected: '415',
  },
  {
    name: 'GET on the path',
    steps: () => [head([['Host', 'x']], 'GET /master/api/v1/agent HTTP/1.1')],
    expected: '405',
  },
  {
    name: 'a request line that is not HTTP',
    steps: () => [Buffer.from('POST /master/api/v1/agent\r\n\r\n')],
    expected: '400',
  },
];

/** How long a case may take before its answer is "none". */
const CASE_MS = 9000;

/**
 * The first thing the master answers: the status code, 'closed' for a connection closed
 * with no answer, 'none' for nothing within CASE_MS.
 */
async function answerTo(port: number, steps: readonly Step[]): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  let received = Buffer.alloc(0);
  const answer = new Promise<string>((resolve) => {
    const timer = setTimeout(() => resolve('none'), CASE_MS);
    const done = (what: string) => {
      clearTimeout(timer);
      resolve(what);
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const match = /^HTTP\/1\.[01] (\d{3}) /.exec(received.toString('latin1'));
      if (match !== null) done(match[1] ?? '');
    });
    socket.on('close', () => done(received.length === 0 ? 'closed' : 'garbled'));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  let answered = false;
  void answer.then(() => {
    answered = true;
  });
  for (const step of steps) {
    if (answered || socket.destroyed) break;
    if (step === 'end') socket.end();
    else if (Buffer.isBuffer(step)) socket.write(step);
    else await new Promise((resolve) => setTimeout(resolve, step.waitMs));
  }
  const what = await answer;
  socket.destroy();
  return what;
}

async function answersOf(isAgentFrontOn: boolean): Promise<Map<string, string>> {
  const master = hostileMaster(isAgentFrontOn);
  const url = new URL(await master.start());
  try {
    const port = Number(url.port);
    const answers = await Promise.all(
      CASES.map(async (c, i) => [c.name, await answerTo(port, c.steps(i))] as const),
    );
    // Still serving, and the front still taking SUBSCRIBEs.
    const after = await answerTo(port, [subscribe(CASES.length, (l) => l)]);
    assert.equal(after, '200', 'a SUBSCRIBE after the hostile ones');
    const health = await fetch(new URL('/health', url));
    assert.equal(health.status, 200);
    await health.arrayBuffer();
    if (isAgentFrontOn) assert.ok(master.agentFrontAnswered >= 3, 'the front took SUBSCRIBEs');
    return new Map(answers);
  } finally {
    await master.stop();
  }
}

test('hostile requests on the agent path get the same answers with the front as without', async () => {
  const [without, withFront] = await Promise.all([answersOf(false), answersOf(true)]);
  const table = CASES.map((c) => ({
    name: c.name,
    expected: c.expected,
    withoutFront: without.get(c.name),
    withFront: withFront.get(c.name),
  }));
  assert.deepEqual(
    table.filter((row) => row.withFront !== row.withoutFront || row.withoutFront !== row.expected),
    [],
  );
});

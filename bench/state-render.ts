// In-process cost of rendering /master/state for 10,000 agents and 100,000 tasks: the whole
// document at once (eager lists, one stringify, as before streaming) against the streamed
// pieces; and the protobuf GET_STATE reply, whole (encode) against in pieces (encodePieces,
// as the operator API now writes it). CPU only, no sockets:
// `node --import tsx bench/state-render.ts`.
import { accept } from '../src/master/core/accept.js';
import { eagerList, legacyState } from '../src/master/http/render.js';
import { v1State } from '../src/master/http/render-v1.js';
import { Resources } from '../src/resources/index.js';
import { jsonPieces, lazyList } from '../src/runtime/index.js';
import { loadProtoCodec, PROTO_MESSAGES, stringifyJson, taskId } from '../src/wire/index.js';
import { CoreBed } from '../test/master/core-bed.js';

const AGENTS = Number(process.argv[2] ?? 10_000);
const TASKS_PER_AGENT = 10;
const bed = new CoreBed();
for (let i = 0; i < AGENTS; i++) bed.addAgent('cpus:1;mem:320');
const fws = Array.from({ length: 10 }, (_, i) => bed.subscribe({ name: `f${i}` }));
bed.advance(0);
let n = 0;
for (const fw of fws)
  for (const offer of bed.offersOn(fw.streamId)) {
    accept(bed.core, bed.framework(fw.id), {
      offer_ids: [offer.id],
      operations: [
        {
          type: 'LAUNCH',
          launch: {
            task_infos: Array.from({ length: TASKS_PER_AGENT }, () => ({
              name: `t${n}`,
              task_id: taskId(`t${n++}`),
              agent_id: offer.agent_id,
              resources: Resources.parse('cpus:0.1;mem:32').toWire('pre-refinement'),
              command: { value: 'true' },
            })),
          },
        },
      ],
    });
    bed.drain();
  }
const view = { id: 'm', pid: 'master@127.0.0.1:5050', hostname: 'h', startTimeSec: 0, flags: {} };
/** stringifyJson as it was: a replacer on every key, to find bigints. */
function oldStringify(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? undefined : v));
}
type Books = typeof bed.core.books;
const books = bed.core.books as Books & Record<string, unknown>;
const proto = Object.getPrototypeOf(books) as Record<string, unknown>;
const newUsedBy = proto.usedBy;
const newUsedOn = proto.usedOn;
/** usedBy/usedOn as they were: a chain of plus(), a new value per task. */
function withOldSums<T>(f: () => T): T {
  proto.usedBy = function (
    this: Books,
    framework: { tasks: Map<string, { isRecovered: boolean; resources: Resources }> },
  ) {
    let used = Resources.EMPTY;
    for (const task of framework.tasks.values())
      if (!task.isRecovered) used = used.plus(task.resources);
    return used;
  };
  proto.usedOn = function (
    this: Books,
    agent: { tasks: Iterable<{ isRecovered: boolean; resources: Resources }> },
  ) {
    let used = Resources.EMPTY;
    for (const task of agent.tasks) if (!task.isRecovered) used = used.plus(task.resources);
    return used;
  };
  try {
    return f();
  } finally {
    proto.usedBy = newUsedBy;
    proto.usedOn = newUsedOn;
  }
}
const cpuMs = (f: () => number): { ms: number; chars: number } => {
  const before = process.cpuUsage();
  const chars = f();
  const used = process.cpuUsage(before);
  return { ms: (used.user + used.system) / 1000, chars };
};
console.log(`${AGENTS} agents, ${n} tasks`);
for (let round = 0; round < 3; round++) {
  const eagerOld = cpuMs(() =>
    withOldSums(() => oldStringify(legacyState(bed.core.books, view)).length),
  );
  const eager = cpuMs(() => stringifyJson(legacyState(bed.core.books, view)).length);
  const streamed = cpuMs(() => {
    let chars = 0;
    let largest = 0;
    let chunk = 0;
    for (const piece of jsonPieces(legacyState(bed.core.books, view, lazyList))) {
      chars += piece.length;
      chunk += piece.length;
      if (chunk >= 65_536) {
        largest = Math.max(largest, chunk);
        chunk = 0;
      }
    }
    return chars;
  });
  console.log(
    `round ${round}: before (whole, plus() chains, replacer stringify) ${eagerOld.ms.toFixed(0)} ms; whole, native stringify ${eager.ms.toFixed(0)} ms; streamed pieces ${streamed.ms.toFixed(0)} ms; ${(streamed.chars / 2 ** 20).toFixed(1)} MB (same length: ${streamed.chars === eager.chars})`,
  );
}

const codec = await loadProtoCodec();
const response = PROTO_MESSAGES.masterResponse;
for (let round = 0; round < 3; round++) {
  const whole = cpuMs(
    () =>
      codec.encode(response, { type: 'GET_STATE', get_state: v1State(bed.core.books, eagerList) })
        .length,
  );
  let pieces = 0;
  let largest = 0;
  const streamed = cpuMs(() => {
    let bytes = 0;
    for (const piece of codec.encodePieces(response, {
      type: 'GET_STATE',
      get_state: v1State(bed.core.books, lazyList),
    })) {
      bytes += piece.length;
      pieces++;
      largest = Math.max(largest, piece.length);
    }
    return bytes;
  });
  console.log(
    `protobuf GET_STATE round ${round}: whole ${whole.ms.toFixed(0)} ms (${(whole.chars / 2 ** 20).toFixed(1)} MB); in pieces ${streamed.ms.toFixed(0)} ms (${(streamed.chars / 2 ** 20).toFixed(1)} MB, ${pieces} pieces, largest ${(largest / 1024).toFixed(0)} KB)`,
  );
}

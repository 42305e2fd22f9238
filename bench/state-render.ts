// In-process CPU of rendering /master/state (JSON, streamed) and GET_STATE (JSON, and
// protobuf in pieces) at 10,000 agents and 100,000 tasks, paired in one process: every
// task and agent rendered afresh (as before renderings were kept, test/master/fresh-render.ts)
// against the renderings kept from the last reply (src/master/http/fragments.ts), both
// when nothing changed and after 1% of the tasks changed state. Then what keeping them
// costs in memory: the heap after a full GC without and with every kept rendering, and the
// process's VmHWM.
//
//   node --expose-gc --import tsx bench/state-render.ts [agents=10000] [--statuses]
//
// `--statuses` reports TASK_STARTING and TASK_RUNNING for every task first, as a real
// cluster's tasks have (the document grows by about two thirds).
import { readFileSync } from 'node:fs';
import { accept } from '../src/master/core/accept.js';
import type { ReadonlyBooks } from '../src/master/core/books.js';
import * as tasks from '../src/master/core/tasks.js';
import { type ListMaker, legacyState, streamedList } from '../src/master/http/render.js';
import { v1State } from '../src/master/http/render-v1.js';
import { Resources } from '../src/resources/index.js';
import { jsonPieces } from '../src/runtime/index.js';
import {
  loadProtoCodec,
  newStatusUuid,
  PROTO_MESSAGES,
  type TaskState,
  taskId,
} from '../src/wire/index.js';
import { CoreBed } from '../test/master/core-bed.js';
import { freshBooks, freshList } from '../test/master/fresh-render.js';

const args = process.argv.slice(2);
const AGENTS = Number(args.find((a) => /^\d+$/.test(a)) ?? 10_000);
const WITH_STATUSES = args.includes('--statuses');
const TASKS_PER_AGENT = 10;
const ROUNDS = 3;

const bed = new CoreBed();
for (let i = 0; i < AGENTS; i++) bed.addAgent('cpus:1;mem:320');
const fws = Array.from({ length: 10 }, (_, i) => bed.subscribe({ name: `f${i}` }));
bed.advance(0);
let n = 0;
const placed: { agentId: string; frameworkId: (typeof fws)[number]['id']; id: string }[] = [];
for (const fw of fws)
  for (const offer of bed.offersOn(fw.streamId)) {
    const infos = Array.from({ length: TASKS_PER_AGENT }, () => ({
      name: `t${n}`,
      task_id: taskId(`t${n++}`),
      agent_id: offer.agent_id,
      resources: Resources.parse('cpus:0.1;mem:32').toWire('pre-refinement'),
      command: { value: 'true' },
    }));
    accept(bed.core, bed.framework(fw.id), {
      offer_ids: [offer.id],
      operations: [{ type: 'LAUNCH', launch: { task_infos: infos } }],
    });
    for (const info of infos)
      placed.push({ agentId: offer.agent_id.value, frameworkId: fw.id, id: info.task_id.value });
    bed.core.outbox.take();
  }

/** As an agent reports it: a new status, with a uuid, forwarded for acknowledgement. */
function report(task: (typeof placed)[number], state: TaskState, timestamp: number): void {
  tasks.statusUpdate(bed.core, bed.agent(task.agentId), task.frameworkId.value, {
    task_id: taskId(task.id),
    state,
    source: 'SOURCE_EXECUTOR',
    uuid: newStatusUuid(),
    timestamp,
  });
  bed.core.outbox.take();
}
if (WITH_STATUSES)
  for (const task of placed) {
    report(task, 'TASK_STARTING', 1_700_000_000.25);
    report(task, 'TASK_RUNNING', 1_700_000_000.5);
  }

const view = { id: 'm', pid: 'master@127.0.0.1:5050', hostname: 'h', startTimeSec: 0, flags: {} };
const codec = await loadProtoCodec();
const books = bed.core.books;
const fresh = freshBooks(books);

/** Every piece written, as streamJson would, without a socket: its length in characters. */
function jsonLength(value: unknown): number {
  let chars = 0;
  for (const piece of jsonPieces(value)) chars += piece.length;
  return chars;
}
const renders = {
  state: (b: ReadonlyBooks, list: ListMaker) => jsonLength(legacyState(b, view, list)),
  getStateJson: (b: ReadonlyBooks, list: ListMaker) =>
    jsonLength({ type: 'GET_STATE', get_state: v1State(b, list) }),
  getStateProto: (b: ReadonlyBooks, list: ListMaker) => {
    let bytes = 0;
    for (const piece of codec.encodePieces(PROTO_MESSAGES.masterResponse, {
      type: 'GET_STATE',
      get_state: v1State(b, list),
    }))
      bytes += piece.length;
    return bytes;
  },
};
type RenderName = keyof typeof renders;

const cpuMs = (f: () => number): { readonly ms: number; readonly size: number } => {
  const before = process.cpuUsage();
  const size = f();
  const used = process.cpuUsage(before);
  return { ms: (used.user + used.system) / 1000, size };
};
const gc = (globalThis as { gc?: () => void }).gc;
const heapMb = () => {
  gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
};
const procStatusMb = (field: string) =>
  Number(
    /(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8').split(`${field}:`)[1] ?? '')?.[1],
  ) / 1024;
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ')[0];

console.log(
  `${AGENTS} agents, ${n} tasks${WITH_STATUSES ? ', each with TASK_STARTING and TASK_RUNNING' : ''}; load ${loadavg()}`,
);
// What each form's kept renderings hold: the heap after a full GC, before and after the
// first reply of each (and Buffer's pool, outside the heap, holds the protobuf pieces).
const heapBefore = heapMb();
const memory: string[] = [];
let heapLast = heapBefore;
for (const name of Object.keys(renders) as RenderName[]) {
  renders[name](books, streamedList);
  const heap = heapMb();
  memory.push(`${name} +${(heap - heapLast).toFixed(0)} MB`);
  heapLast = heap;
}
console.log(`kept renderings, heap after a full GC: ${memory.join(', ')}`);
const sizes: Partial<Record<RenderName, number>> = {};
let changed = 0;
for (let round = 0; round < ROUNDS; round++) {
  const line: string[] = [];
  for (const name of Object.keys(renders) as RenderName[]) {
    const render = renders[name];
    const afresh = cpuMs(() => render(fresh, freshList));
    const kept = cpuMs(() => render(books, streamedList));
    if (kept.size !== afresh.size)
      throw new Error(`${name}: kept ${kept.size} ≠ fresh ${afresh.size}`);
    sizes[name] = kept.size;
    line.push(`${name} fresh ${afresh.ms.toFixed(0)} / kept ${kept.ms.toFixed(0)} ms`);
  }
  // 1% of the tasks change (a status each), then each document is rendered once more.
  const step = Math.max(1, Math.floor(placed.length / 1000));
  for (let i = round; i < placed.length; i += 100) {
    const task = placed[i];
    if (task !== undefined) report(task, 'TASK_RUNNING', 1_700_000_100 + round + i / step);
    changed++;
  }
  for (const name of Object.keys(renders) as RenderName[]) {
    const kept = cpuMs(() => renders[name](books, streamedList));
    line.push(`${name} after 1% changed: kept ${kept.ms.toFixed(0)} ms`);
  }
  console.log(`round ${round} (load ${loadavg()}): ${line.join('; ')}`);
}
const heapAfter = heapMb();
console.log(
  `sizes: /master/state ${((sizes.state ?? 0) / 2 ** 20).toFixed(1)} MB, GET_STATE JSON ${((sizes.getStateJson ?? 0) / 2 ** 20).toFixed(1)} MB, protobuf ${((sizes.getStateProto ?? 0) / 2 ** 20).toFixed(1)} MB; ${changed} task updates between rounds`,
);
console.log(
  `heap after a full GC${gc === undefined ? ' (no --expose-gc: not collected first)' : ''}: ${heapBefore.toFixed(0)} MB before any reply, ${heapAfter.toFixed(0)} MB with every rendering kept (+${(heapAfter - heapBefore).toFixed(0)} MB); process VmRSS ${procStatusMb('VmRSS').toFixed(0)} MB, VmHWM ${procStatusMb('VmHWM').toFixed(0)} MB`,
);

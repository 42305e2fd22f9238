// The node flags a master process runs with when Agora starts it (`agora up`), and that the
// README asks of a master started by hand.
//
// The young generation. A busy master's garbage is mostly per call and per event (node:http's
// request and response, parsed bodies, encoded records), but a good share of it is still alive
// when a scavenge runs: calls read and not yet answered, offers out, tasks starting. With V8's
// default young generation (16 MB semi-spaces) 20-40% of it survived each scavenge at 10,000
// agents, 3 MB of every 20 MB allocated was promoted to the old generation (to die there
// soon), and collection was over a quarter of the master's CPU. With 64 MB semi-spaces it
// scavenges about a third as often, promotes 30% less per MB allocated, and the master's CPU
// per task fell by 15-20% (bench/RESULTS.md, "Master CPU per task at 10,000 agents").
//
// The old generation's first marking. A standby's heap is small and mostly garbage: it reads
// the registry and rehearses re-registrations, and V8's memory reducer compacts it when it
// idles, which sets the old generation's limit (where marking starts) just above a few tens
// of MB. Elected, it then meets every agent at once and its books grow by ~150 MB in 2-3 s: V8
// started a mark-compact two or three times in that storm (each a 15-190 ms pause on the
// main thread and 50-170 ms of marking on a helper thread, freeing little: the books are
// alive), on the two cores the storm already saturates. --initial-old-space-size=256 makes
// 256 MB the lowest that limit goes (V8 calls it the size below which it may skip full
// collections): bench:failover's storm at 10,000 agents / 100,000 tasks then ran with one, near
// its end, and the leader's CPU for it fell 6-11 % (bench/RESULTS.md, "the new leader's
// garbage collection"). It reserves nothing: a master of 500 agents held the same RSS at rest
// with it (~90 MB; the memory reducer still compacts an idle heap), and past 10,000 agents the
// live books alone set the limit higher. 512 cost a leader ~230 MB more RSS after the storm
// (garbage not yet marked) for no clearer gain.
//
// V8 sizes both when the process starts (v8.setFlagsFromString afterwards has no effect on
// them), so they have to be flags of the node command itself.

/** The flags, each with the flags that size the same space (an operator's take precedence). */
const FAMILIES: readonly { readonly flag: string; readonly sizedBy: RegExp }[] = [
  // V8's young generation for a master: 64 MB semi-spaces (node's default is 16).
  { flag: '--max-semi-space-size=64', sizedBy: /--(max|min)[-_]semi[-_]space[-_]size/ },
  // No old-generation marking below 256 MB (node's default starts it far lower).
  {
    flag: '--initial-old-space-size=256',
    sizedBy: /--(initial|max)[-_]old[-_]space[-_]size|--max[-_]heap[-_]size/,
  },
];

/** The flags Agora gives a master's node when the operator sizes none of its heap. */
export const MASTER_NODE_FLAGS: readonly string[] = FAMILIES.map((family) => family.flag);

/**
 * The flags to start a master's node with: for each space, MASTER_NODE_FLAGS' flag, unless
 * the operator's own node options size it (NODE_OPTIONS, which the master inherits: nothing
 * then; or the flags this process was started with, which the children of `agora up` would
 * otherwise not inherit: those).
 */
export function masterNodeFlags(
  nodeOptions: string | undefined,
  execArgv: readonly string[],
): readonly string[] {
  return FAMILIES.flatMap(({ flag, sizedBy }) => {
    if (nodeOptions !== undefined && sizedBy.test(nodeOptions)) return [];
    const own = execArgv.filter((arg) => sizedBy.test(arg));
    return own.length > 0 ? own : [flag];
  });
}

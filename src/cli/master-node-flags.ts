// The node flags a master process runs with when Agora starts it (`agora up`), and that the
// README asks of a master started by hand.
//
// A busy master's garbage is mostly per call and per event (node:http's request and
// response, parsed bodies, encoded records), but a good share of it is still alive when a
// scavenge runs: calls read and not yet answered, offers out, tasks starting. With V8's
// default young generation (16 MB semi-spaces) 20-40% of it survived each scavenge at 10,000
// agents, 3 MB of every 20 MB allocated was promoted to the old generation (to die there
// soon), and collection was over a quarter of the master's CPU. With 64 MB semi-spaces it
// scavenges about a third as often, promotes 30% less per MB allocated, and the master's CPU
// per task fell by 15-20% (bench/RESULTS.md, "Master CPU per task at 10,000 agents"). V8
// sizes the young generation when the process starts (v8.setFlagsFromString afterwards has
// no effect on it), so it has to be a flag of the node command itself.

/** V8's young generation for a master: 64 MB semi-spaces (node's default is 16). */
export const MASTER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];

const SEMI_SPACE_FLAG = /--(max|min)[-_]semi[-_]space[-_]size/;

/**
 * The flags to start a master's node with: MASTER_NODE_FLAGS, unless the operator's own
 * node options (NODE_OPTIONS, or the flags this process was started with, which the
 * children of `agora up` would otherwise not inherit) already size the young generation.
 */
export function masterNodeFlags(
  nodeOptions: string | undefined,
  execArgv: readonly string[],
): readonly string[] {
  if (nodeOptions !== undefined && SEMI_SPACE_FLAG.test(nodeOptions)) return [];
  const own = execArgv.filter((flag) => SEMI_SPACE_FLAG.test(flag));
  return own.length > 0 ? own : MASTER_NODE_FLAGS;
}

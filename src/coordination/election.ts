// Which election node leads (WIRE §8). Pure: the ZooKeeper and etcd shells feed
// it the names they list.

export interface ElectionNode {
  readonly name: string;
  readonly sequence: number;
  /** `json`: MasterInfo JSON (what Agora and Mesos ≥ 0.24 write); `legacy`: binary or a pid. */
  readonly format: 'json' | 'legacy';
}

const JSON_NODE = /^json\.info_(\d+)$/;
const LEGACY_NODE = /^(?:info_)?(\d+)$/;

/** Reads a child's name; undefined for nodes that are not candidates (e.g. `log_replicas`). */
export function electionNode(name: string): ElectionNode | undefined {
  const json = JSON_NODE.exec(name);
  if (json !== null) return { name, sequence: Number(json[1]), format: 'json' };
  const legacy = LEGACY_NODE.exec(name);
  if (legacy !== null) return { name, sequence: Number(legacy[1]), format: 'legacy' };
  return undefined;
}

/** The candidates among `children`, lowest sequence (the leader) first. */
export function candidates(children: readonly string[]): ElectionNode[] {
  return children
    .map(electionNode)
    .filter((node): node is ElectionNode => node !== undefined)
    .sort((a, b) => a.sequence - b.sequence);
}

/** The leading node: the candidate with the lowest sequence number. */
export function leaderNode(children: readonly string[]): ElectionNode | undefined {
  return candidates(children)[0];
}

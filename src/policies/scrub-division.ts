/** A vDisk to scrub and the vPool whose StorageDrivers can run its work. */
export interface ScrubCandidate {
  vdiskGuid: string;
  vpoolGuid: string;
}

/** A StorageRouter with a SCRUB partition. */
export interface ScrubNode {
  storagerouterGuid: string;
  /** Its agent answered just now; a node that does not answer gets no work. */
  answering: boolean;
  /** vPool guid → this node's StorageDriver of that vPool (the scrub runs in it). */
  storagedrivers: Readonly<Record<string, string>>;
}

export interface ScrubDivision {
  /** StorageRouter guid → the vDisks it scrubs, one after another, in this order. */
  assignments: Map<string, ScrubCandidate[]>;
  /** vDisks no answering scrub node can take (none of them serves the vDisk's vPool). */
  unassigned: ScrubCandidate[];
}

/**
 * Divides vDisks over the scrub nodes: each vDisk to exactly one node (so one scrub per vDisk at a time), only to a
 * node with a StorageDriver of its vPool whose agent answers, and evenly: the vDisks with the fewest possible nodes
 * are placed first, each on the possible node with the least work so far (ties: the order the nodes are given in).
 */
export function divideScrubWork(vdisks: readonly ScrubCandidate[], nodes: readonly ScrubNode[]): ScrubDivision {
  const live = nodes.filter((n) => n.answering);
  const assignments = new Map<string, ScrubCandidate[]>(live.map((n) => [n.storagerouterGuid, []]));
  const unassigned: ScrubCandidate[] = [];
  const possible = (v: ScrubCandidate): ScrubNode[] => live.filter((n) => n.storagedrivers[v.vpoolGuid] !== undefined);
  const order = vdisks.map((v, i) => ({ v, i, nodes: possible(v) })).sort((a, b) => a.nodes.length - b.nodes.length || a.i - b.i);
  for (const { v, nodes: candidates } of order) {
    let best: ScrubCandidate[] | undefined;
    for (const n of candidates) {
      const load = assignments.get(n.storagerouterGuid)!;
      if (!best || load.length < best.length) best = load;
    }
    if (best) best.push(v);
    else unassigned.push(v);
  }
  // Back to the given order within each node: placement order only serves the balance.
  const rank = new Map(vdisks.map((v, i) => [v.vdiskGuid, i]));
  for (const list of assignments.values()) list.sort((a, b) => rank.get(a.vdiskGuid)! - rank.get(b.vdiskGuid)!);
  for (const [sr, list] of assignments) if (list.length === 0) assignments.delete(sr);
  return { assignments, unassigned };
}

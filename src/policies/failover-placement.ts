/** A StorageDriver that can take vDisks of a failed node: its vPool and how many vDisks it owns now. */
export interface FailoverCandidate {
  storagedriver: string;
  vpool: string;
  vdisks: number;
}

export interface OrphanVdisk {
  vdisk: string;
  vpool: string;
}

/**
 * Where each vDisk of a failed node restarts: on the online StorageDrivers of its vPool, each time on the one with
 * the fewest vDisks (counting those just placed), ties broken by StorageDriver guid, so the work spreads instead of
 * landing on one node. A vDisk whose vPool has no online StorageDriver left is returned unplaced.
 */
export function placeFailover(orphans: readonly OrphanVdisk[], candidates: readonly FailoverCandidate[]): { placed: Map<string, string>; unplaced: string[] } {
  const load = new Map(candidates.map((c) => [c.storagedriver, c.vdisks]));
  const byVpool = new Map<string, FailoverCandidate[]>();
  for (const c of candidates) byVpool.set(c.vpool, [...(byVpool.get(c.vpool) ?? []), c]);
  const placed = new Map<string, string>();
  const unplaced: string[] = [];
  for (const o of [...orphans].sort((a, b) => a.vdisk.localeCompare(b.vdisk))) {
    const options = byVpool.get(o.vpool) ?? [];
    if (options.length === 0) {
      unplaced.push(o.vdisk);
      continue;
    }
    const best = options.reduce((a, b) => {
      const la = load.get(a.storagedriver)!;
      const lb = load.get(b.storagedriver)!;
      return lb < la || (lb === la && b.storagedriver < a.storagedriver) ? b : a;
    });
    placed.set(o.vdisk, best.storagedriver);
    load.set(best.storagedriver, load.get(best.storagedriver)! + 1);
  }
  return { placed, unplaced };
}

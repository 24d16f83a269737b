/** A StorageRouter serving the vDisk's vPool, as DTL placement sees it. */
export interface DtlCandidateNode {
  storagerouter: string;
  /** Regular domains of the StorageRouter (StorageRouterDomain with backup = false). */
  domains: readonly string[];
  /** vDisks that already keep their DTL on this node. */
  dtlLoad: number;
  /** Its DTL server answers. */
  usable: boolean;
}

export interface DtlPlacementInput {
  /** The StorageRouter that owns the vDisk: never its own DTL. */
  owner: string;
  ownerDomains: readonly string[];
  ownerRecoveryDomains: readonly string[];
  nodes: readonly DtlCandidateNode[];
  /** Domains the vDisk's DTL must stay in (manual `dtl_target`); empty or absent: no restriction. */
  restrictTo?: readonly string[];
  exclude?: readonly string[];
  /** A node that already holds this many DTLs takes no more. */
  maxDtlsPerNode?: number;
}

/**
 * Spec §2.6 with the original's bugs fixed: candidates in priority order — nodes whose regular domain is one of the
 * owner's recovery domains, then those sharing one of its regular domains, then every other node of the vPool —
 * never the owner, never an excluded or unusable node, never one at its DTL capacity, only inside the restricting
 * domains when given. Within a list the least loaded node comes first (ties by guid) instead of a random shuffle,
 * so DTLs spread and the outcome is reproducible.
 */
export function dtlCandidates(o: DtlPlacementInput): string[][] {
  const excluded = new Set(o.exclude ?? []);
  const restrict = o.restrictTo && o.restrictTo.length > 0 ? new Set(o.restrictTo) : undefined;
  const eligible = o.nodes.filter((n) =>
    n.storagerouter !== o.owner && !excluded.has(n.storagerouter) && n.usable && (o.maxDtlsPerNode === undefined || n.dtlLoad < o.maxDtlsPerNode) &&
    (!restrict || n.domains.some((d) => restrict.has(d))));
  const inAny = (n: DtlCandidateNode, domains: readonly string[]): boolean => n.domains.some((d) => domains.includes(d));
  const primary = eligible.filter((n) => inAny(n, o.ownerRecoveryDomains));
  const secondary = eligible.filter((n) => !primary.includes(n) && inAny(n, o.ownerDomains));
  const other = eligible.filter((n) => !primary.includes(n) && !secondary.includes(n));
  const byLoad = (list: DtlCandidateNode[]): string[] =>
    [...list].sort((a, b) => a.dtlLoad - b.dtlLoad || a.storagerouter.localeCompare(b.storagerouter)).map((n) => n.storagerouter);
  return [byLoad(primary), byLoad(secondary), byLoad(other)];
}

/** The DTL target: the best node of the first non-empty candidate list, or null (the vDisk runs standalone). */
export function chooseDtlTarget(o: DtlPlacementInput): string | null {
  return dtlCandidates(o).find((list) => list.length > 0)?.[0] ?? null;
}

/** Load of an MDS service in percent, now and with one more vDisk (spec §2.7 get_mds_load). */
export interface MdsLoad {
  current: number;
  next: number;
}

const round5 = (x: number): number => Math.round(x * 1e5) / 1e5;

/**
 * Assumptions: `capacity` is the number of vDisk namespaces the service should carry (operator-set); `junctions` counts
 * the vDisks it serves as master or slave.
 * Actions: capacity < 0 (unlimited) → 50/50; capacity 0 (being decommissioned) → ∞/∞; otherwise the share of capacity
 * used now and after one more vDisk, rounded to 5 decimals.
 */
export function mdsLoad(capacity: number, junctions: number): MdsLoad {
  if (capacity < 0) return { current: 50, next: 50 };
  if (capacity === 0) return { current: Infinity, next: Infinity };
  return { current: round5((junctions / capacity) * 100), next: round5(((junctions + 1) / capacity) * 100) };
}

/** Orders IPv4 addresses numerically per octet (10.0.0.9 before 10.0.0.10); anything else falls back to text order. */
export function compareIp(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  if (pa.length === 4 && pb.length === 4 && [...pa, ...pb].every((n) => Number.isInteger(n))) {
    for (let i = 0; i < 4; i++) {
      const d = (pa[i] ?? 0) - (pb[i] ?? 0);
      if (d !== 0) return d;
    }
    return 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The service order every MDS decision walks: by port, then by IP, then by id (ties must not depend on input order). */
export function compareMdsServices(a: { port: number; ip: string; id: string }, b: { port: number; ip: string; id: string }): number {
  return a.port - b.port || compareIp(a.ip, b.ip) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** The least loaded (current load) service among `services` in service order, first one wins ties; null when empty (§2.7 get_preferred_mds). */
export function preferredMds<T extends { capacity: number; junctions: number; port: number; ip: string; id: string }>(services: readonly T[]): { service: T; load: number } | null {
  let best: { service: T; load: number } | null = null;
  for (const service of [...services].sort(compareMdsServices)) {
    const load = mdsLoad(service.capacity, service.junctions).current;
    if (best === null || load < best.load) best = { service, load };
  }
  return best;
}

/** A StorageDriver of a vPool as the rebalancer sees it. */
export interface RebalanceNode {
  storagedriver: string;
  storagerouter: string;
  /** Guids of the vDisks it owns now. */
  vdisks: readonly string[];
  /** Neither takes nor gives vDisks (not answering, under maintenance): left out of the spread. Wins over `evacuate`. */
  excluded?: boolean;
  /** Takes no vDisks and gives all of its own away (the original's evacuated StorageRouter, limit 0). */
  evacuate?: boolean;
}

export interface RebalanceMove {
  vdisk: string;
  /** StorageDriver guids. */
  from: string;
  to: string;
  to_storagerouter: string;
}

export interface RebalancePlan {
  /** In the order they are meant to run. */
  moves: RebalanceMove[];
  /** vDisks of evacuated StorageDrivers that no StorageDriver can take. */
  unplaced: string[];
  /** vDisks per StorageDriver once the moves are done. */
  after: Record<string, number>;
  /** vDisks per StorageDriver the spread aims at; absent for excluded StorageDrivers (they keep what they have). */
  limits: Record<string, number>;
}

const byGuid = (a: RebalanceNode, b: RebalanceNode): number => (a.storagedriver < b.storagedriver ? -1 : a.storagedriver > b.storagedriver ? 1 : 0);
const sorted = (xs: readonly string[]): string[] => [...xs].sort();

/**
 * The fewest moves that spread the vDisks of a vPool evenly (at most one apart) over the StorageDrivers that take part.
 * The one-more shares go to the StorageDrivers holding the most already, so no vDisk moves that need not; each vDisk
 * goes to the StorageDriver with the fewest at that moment. Because of that choice no balancing move leaves its
 * target with more vDisks than its source (a move off an evacuated StorageDriver may). Deterministic: ties by guid,
 * the vDisks kept are the lowest guids.
 */
export function planRebalance(input: readonly RebalanceNode[]): RebalancePlan {
  const nodes = [...input].sort(byGuid);
  const count = new Map(nodes.map((n) => [n.storagedriver, n.vdisks.length]));
  const usable = nodes.filter((n) => !n.excluded && !n.evacuate);
  const evacuees = nodes.filter((n) => !n.excluded && n.evacuate);
  const total = [...usable, ...evacuees].reduce((sum, n) => sum + n.vdisks.length, 0);
  const limits: Record<string, number> = {};
  for (const n of evacuees) limits[n.storagedriver] = 0;
  const ranked = [...usable].sort((a, b) => b.vdisks.length - a.vdisks.length || byGuid(a, b));
  ranked.forEach((n, i) => (limits[n.storagedriver] = Math.floor(total / ranked.length) + (i < total % ranked.length ? 1 : 0)));

  const moves: RebalanceMove[] = [];
  const unplaced: string[] = [];
  const givers = [...evacuees, ...ranked];
  for (const from of givers) {
    for (const vdisk of sorted(from.vdisks).slice(limits[from.storagedriver])) {
      const to = lightestWithRoom(usable, count, limits);
      if (!to) {
        unplaced.push(vdisk);
        continue;
      }
      moves.push({ vdisk, from: from.storagedriver, to: to.storagedriver, to_storagerouter: to.storagerouter });
      count.set(from.storagedriver, count.get(from.storagedriver)! - 1);
      count.set(to.storagedriver, count.get(to.storagedriver)! + 1);
    }
  }
  return { moves, unplaced, after: Object.fromEntries(count), limits };
}

function lightestWithRoom(usable: readonly RebalanceNode[], count: ReadonlyMap<string, number>, limits: Readonly<Record<string, number>>): RebalanceNode | undefined {
  let best: RebalanceNode | undefined;
  for (const n of usable) {
    const c = count.get(n.storagedriver)!;
    if (c >= limits[n.storagedriver]!) continue;
    if (!best || c < count.get(best.storagedriver)!) best = n;
  }
  return best;
}

/**
 * A balance record in the original's export format (`VDiskBalance`): `balance` is what the StorageDriver keeps,
 * `overflow` what it gives away, `added` what it receives; `limit` -1 means unlimited.
 */
export interface BalanceRecord {
  storagedriver_guid: string;
  hosted_guids: string[];
  limit: number;
  balance: string[];
  overflow: string[];
  added: string[];
}

/** The plan as the original's exported balances, one per StorageDriver, so one executor runs both. */
export function exportBalances(input: readonly RebalanceNode[], plan: RebalancePlan): BalanceRecord[] {
  return [...input].sort(byGuid).map((n) => {
    const leaving = new Set([...plan.moves.filter((m) => m.from === n.storagedriver).map((m) => m.vdisk), ...plan.unplaced.filter((v) => n.vdisks.includes(v))]);
    const hosted = sorted(n.vdisks);
    return {
      storagedriver_guid: n.storagedriver,
      hosted_guids: hosted,
      limit: plan.limits[n.storagedriver] ?? -1,
      balance: hosted.filter((v) => !leaving.has(v)),
      overflow: hosted.filter((v) => leaving.has(v)),
      added: plan.moves.filter((m) => m.to === n.storagedriver).map((m) => m.vdisk),
    };
  });
}

export interface ScheduledMove {
  vdisk: string;
  /** StorageDriver guid the vDisk goes to. */
  to: string;
}

/**
 * The moves a set of balance records asks for, in the original's order (balance by balance, overflow in its order),
 * for the balances `execute` selects. Each overflow vDisk goes to the balance whose `added` holds it. Every problem
 * is found before anything moves: a vDisk added to two balances, an overflow vDisk no balance adds, a StorageDriver
 * with two balances. Returns the problems instead of moves when there are any.
 */
export function movesOfBalances(balances: readonly BalanceRecord[], execute: (b: BalanceRecord) => boolean): { moves: ScheduledMove[]; problems: string[] } {
  const problems: string[] = [];
  const destination = new Map<string, string>();
  const seen = new Set<string>();
  for (const b of balances) {
    if (seen.has(b.storagedriver_guid)) problems.push(`StorageDriver ${b.storagedriver_guid} has more than one balance`);
    seen.add(b.storagedriver_guid);
    for (const v of b.added) {
      const other = destination.get(v);
      if (other !== undefined && other !== b.storagedriver_guid) problems.push(`vDisk ${v} is added to both ${other} and ${b.storagedriver_guid}`);
      destination.set(v, b.storagedriver_guid);
    }
  }
  const moves: ScheduledMove[] = [];
  for (const b of balances.filter(execute)) {
    for (const v of b.overflow) {
      const to = destination.get(v);
      if (to === undefined) problems.push(`vDisk ${v} overflows ${b.storagedriver_guid} but no balance adds it`);
      else moves.push({ vdisk: v, to });
    }
  }
  return problems.length > 0 ? { moves: [], problems } : { moves, problems };
}

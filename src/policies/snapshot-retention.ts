/**
 * Snapshot retention (generic.delete_snapshots_storagedriver, spec §4.3), as a pure function with the clock and the
 * time zone passed in. Assumptions:
 *   * Everything younger than `base` (local midnight of yesterday) is kept; it belongs to no bucket.
 *   * Rules are consecutive ranges of whole days before `base`, each split in `count` equal buckets; the first bucket
 *     of a rule may keep the "best" snapshot (consistent beats inconsistent, then the newest), other buckets keep the
 *     oldest; every snapshot sharing the kept one's timestamp is kept too.
 *   * Older than the last rule: deleted.
 *   * Sticky snapshots and snapshots that are clone sources are never bucketed, kept, nor counted.
 *   * `maxSnapshots` (what users of the original asked for) then trims the oldest bucketed ones beyond the limit.
 * The default policy is the original's: 7 one-day buckets (the first keeps the best) and 3 one-week buckets.
 */
export interface RetentionRule {
  /** Number of equal buckets the range is split into. */
  count: number;
  /** Length of the range in days. */
  days: number;
  /** The first bucket of this rule keeps the best snapshot instead of the oldest. */
  consistencyFirst?: boolean;
}

export interface RetentionPolicy {
  rules: RetentionRule[];
  maxSnapshots?: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = {
  rules: [
    { count: 7, days: 7, consistencyFirst: true },
    { count: 3, days: 21 },
  ],
};

export interface RetentionSnapshot {
  id: string;
  /** Epoch seconds. */
  timestamp: number;
  is_consistent: boolean;
  is_sticky: boolean;
  /** A clone was made from it. */
  is_clone_parent: boolean;
}

interface Bucket {
  /** Younger edge (inclusive), epoch seconds. */
  start: number;
  /** Older edge (exclusive); 0 = the rest. */
  end: number;
  keep: 'best' | 'oldest' | 'none';
}

const DAY = 86_400;

/** Epoch seconds of local midnight `days` days before the local date of `nowS`, for a UTC offset in minutes. */
function localMidnight(nowS: number, daysBack: number, utcOffsetMinutes: number): number {
  const localS = nowS + utcOffsetMinutes * 60;
  const midnightLocal = Math.floor(localS / DAY) * DAY - daysBack * DAY;
  return midnightLocal - utcOffsetMinutes * 60;
}

export function retentionBuckets(nowS: number, policy: RetentionPolicy, utcOffsetMinutes: number): Bucket[] {
  const base = (days: number): number => localMidnight(nowS, 1 + days, utcOffsetMinutes);
  const buckets: Bucket[] = [];
  let offsetDays = 0;
  for (const rule of policy.rules) {
    const width = rule.days / rule.count;
    for (let i = 0; i < rule.count; i++) {
      buckets.push({ start: base(offsetDays + i * width), end: base(offsetDays + (i + 1) * width), keep: i === 0 && rule.consistencyFirst ? 'best' : 'oldest' });
    }
    offsetDays += rule.days;
  }
  buckets.push({ start: base(offsetDays), end: 0, keep: 'none' });
  return buckets;
}

export function planRetention(
  snapshots: RetentionSnapshot[],
  nowS: number,
  policy: RetentionPolicy = DEFAULT_RETENTION,
  utcOffsetMinutes = 0,
): { keep: string[]; remove: string[] } {
  const buckets = retentionBuckets(nowS, policy, utcOffsetMinutes);
  const candidates = snapshots.filter((s) => !s.is_sticky && !s.is_clone_parent);
  const removed = new Set<string>();
  for (const b of buckets) {
    const inside = candidates.filter((s) => s.timestamp <= b.start && s.timestamp > b.end);
    if (inside.length === 0) continue;
    let keptTs: number | undefined;
    if (b.keep === 'oldest') keptTs = Math.min(...inside.map((s) => s.timestamp));
    if (b.keep === 'best') {
      const best = [...inside].sort((x, y) => Number(y.is_consistent) - Number(x.is_consistent) || y.timestamp - x.timestamp)[0]!;
      keptTs = best.timestamp;
    }
    for (const s of inside) if (s.timestamp !== keptTs) removed.add(s.id);
  }
  if (policy.maxSnapshots !== undefined) {
    const left = candidates.filter((s) => !removed.has(s.id)).sort((x, y) => x.timestamp - y.timestamp);
    for (const s of left.slice(0, Math.max(0, left.length - policy.maxSnapshots))) removed.add(s.id);
  }
  return { keep: snapshots.filter((s) => !removed.has(s.id)).map((s) => s.id), remove: snapshots.filter((s) => removed.has(s.id)).map((s) => s.id) };
}

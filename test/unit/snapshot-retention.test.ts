import test from 'ava';
import { DEFAULT_RETENTION, planRetention, retentionBuckets, type RetentionSnapshot } from '../../src/policies/snapshot-retention.js';

const H = 3600;
const D = 86_400;
const T0 = Date.UTC(2026, 0, 5) / 1000; // a Monday, 00:00 UTC

const snap = (id: string, timestamp: number, o: Partial<RetentionSnapshot> = {}): RetentionSnapshot => ({ id, timestamp, is_consistent: false, is_sticky: false, is_clone_parent: false, ...o });

test('buckets: 7 daily before yesterday, 3 weekly, then the rest (original layout)', (t) => {
  const now = T0 + 10 * D + 2 * H;
  const b = retentionBuckets(now, DEFAULT_RETENTION, 0);
  t.is(b.length, 11);
  t.is(b[0]!.start, T0 + 9 * D, 'the first bucket starts at midnight of yesterday');
  t.is(b[0]!.keep, 'best');
  t.is(b[6]!.end, T0 + 2 * D);
  t.deepEqual([b[7]!.start - b[7]!.end, b[9]!.start - b[9]!.end], [7 * D, 7 * D]);
  t.is(b[10]!.start, T0 + 9 * D - 28 * D);
  t.is(b[10]!.keep, 'none');
});

const cases: Array<{ title: string; snaps: RetentionSnapshot[]; now: number; keep: string[] }> = [
  {
    title: 'first bucket keeps the consistent one even if older; other daily buckets keep the oldest',
    now: T0 + 10 * D + 2 * H,
    snaps: [snap('a', T0 + 8 * D + 1 * H), snap('b', T0 + 8 * D + 5 * H, { is_consistent: true }), snap('c', T0 + 8 * D + 20 * H), snap('d', T0 + 7 * D + 3 * H), snap('e', T0 + 7 * D + 9 * H, { is_consistent: true })],
    keep: ['b', 'd'],
  },
  {
    title: 'first bucket without consistent snapshots keeps the newest',
    now: T0 + 10 * D + 2 * H,
    snaps: [snap('a', T0 + 8 * D + 1 * H), snap('c', T0 + 8 * D + 20 * H)],
    keep: ['c'],
  },
  {
    title: 'the current and previous day are kept whole',
    now: T0 + 10 * D + 2 * H,
    snaps: [snap('a', T0 + 9 * D + 1 * H), snap('b', T0 + 9 * D + 2 * H), snap('c', T0 + 10 * D + 1 * H)],
    keep: ['a', 'b', 'c'],
  },
  {
    title: 'sticky snapshots and clone parents are kept and do not take a bucket slot',
    now: T0 + 10 * D + 2 * H,
    snaps: [snap('s', T0 + 6 * D + 1 * H, { is_sticky: true }), snap('p', T0 + 6 * D + 2 * H, { is_clone_parent: true }), snap('x', T0 + 6 * D + 3 * H), snap('y', T0 + 6 * D + 4 * H), snap('old', T0 - 40 * D, { is_sticky: true })],
    keep: ['s', 'p', 'x', 'old'],
  },
  {
    title: 'older than four weeks is deleted, automatic or manual alike',
    now: T0 + 40 * D,
    snaps: [snap('ancient', T0 + 1 * D), snap('recent', T0 + 39 * D + H)],
    keep: ['recent'],
  },
  {
    title: 'snapshots sharing the kept timestamp are kept together',
    now: T0 + 10 * D + 2 * H,
    snaps: [snap('a', T0 + 7 * D + 3 * H), snap('b', T0 + 7 * D + 3 * H), snap('c', T0 + 7 * D + 9 * H)],
    keep: ['a', 'b'],
  },
];

for (const c of cases) {
  test(c.title, (t) => {
    t.deepEqual(planRetention(c.snaps, c.now).keep.sort(), [...c.keep].sort());
  });
}

test('35 simulated days: hourly automatic snapshots, a consistent one at 20:00, retention daily at 02:01', (t) => {
  let snaps: RetentionSnapshot[] = [];
  let n = 0;
  for (let hour = 0; hour < 35 * 24; hour++) {
    const ts = T0 + hour * H;
    snaps.push(snap(`h${n++}`, ts, { is_consistent: hour % 24 === 20 }));
    if (hour % 24 === 2) {
      const { remove } = planRetention(snaps, ts + 60);
      snaps = snaps.filter((s) => !remove.includes(s.id));
    }
  }
  // The last run was on day 34 at 02:01: yesterday (day 33) and today are whole; day 32 is the first bucket.
  const base = T0 + 33 * D;
  const on = (day: number) => snaps.filter((s) => s.timestamp >= T0 + day * D && s.timestamp < T0 + (day + 1) * D);
  t.deepEqual(on(32).map((s) => s.is_consistent), [true], 'the day before yesterday keeps its consistent snapshot');
  for (let d = 26; d <= 31; d++) t.is(on(d).length, 1, `one snapshot on day ${d}`);
  t.is(snaps.filter((s) => s.timestamp <= base - 7 * D && s.timestamp > base - 28 * D).length, 3, 'one per week for three weeks');
  t.false(snaps.some((s) => s.timestamp <= base - 28 * D), 'nothing older than four weeks');
  t.is(snaps.filter((s) => s.timestamp > base).length, 23 + 24, 'yesterday after midnight and today are whole (midnight itself is the first bucket edge: start >= ts)');
});

test('a maximum snapshot count per vDisk trims the oldest bucketed snapshots', (t) => {
  const snaps = [snap('a', T0 + 1 * D), snap('b', T0 + 2 * D), snap('c', T0 + 9 * D + H), snap('s', T0, { is_sticky: true })];
  t.deepEqual(planRetention(snaps, T0 + 10 * D).keep.sort(), ['a', 'c', 's'], 'the weekly bucket keeps its oldest');
  t.deepEqual(planRetention(snaps, T0 + 10 * D, { ...DEFAULT_RETENTION, maxSnapshots: 1 }).keep.sort(), ['c', 's'], 'the limit drops the oldest; sticky ones do not count');
});

test('a custom policy: 2 buckets of 2 days, then delete', (t) => {
  const snaps = [snap('a', T0 + 5 * D), snap('b', T0 + 6 * D), snap('c', T0 + 7 * D), snap('d', T0 + 8 * D)];
  t.deepEqual(planRetention(snaps, T0 + 10 * D + H, { rules: [{ count: 2, days: 4 }] }).keep.sort(), ['b', 'd']);
});

test('local time: bucket edges follow the configured UTC offset', (t) => {
  const now = T0 + 10 * D + 2 * H;
  t.is(retentionBuckets(now, DEFAULT_RETENTION, 120)[0]!.start, T0 + 9 * D - 2 * H);
});

import test from 'ava';
import { placeFailover, type FailoverCandidate, type OrphanVdisk } from '../../src/policies/failover-placement.js';
import { livenessChanges, wasPaused } from '../../src/policies/node-liveness.js';

const orphans = (n: number, vpool = 'p1'): OrphanVdisk[] => Array.from({ length: n }, (_, i) => ({ vdisk: `v${String(i).padStart(3, '0')}`, vpool }));

const placementCases: Array<{ title: string; orphans: OrphanVdisk[]; candidates: FailoverCandidate[]; expect: Record<string, number>; unplaced?: number }> = [
  { title: 'spread evenly over idle nodes', orphans: orphans(6), candidates: [{ storagedriver: 'a', vpool: 'p1', vdisks: 0 }, { storagedriver: 'b', vpool: 'p1', vdisks: 0 }], expect: { a: 3, b: 3 } },
  { title: 'the less loaded node takes more until they are level', orphans: orphans(6), candidates: [{ storagedriver: 'a', vpool: 'p1', vdisks: 4 }, { storagedriver: 'b', vpool: 'p1', vdisks: 0 }], expect: { a: 1, b: 5 } },
  { title: 'only StorageDrivers of the vDisk\'s vPool', orphans: [...orphans(2, 'p1'), ...orphans(2, 'p2').map((o) => ({ ...o, vdisk: `q${o.vdisk}` }))], candidates: [{ storagedriver: 'a', vpool: 'p1', vdisks: 0 }, { storagedriver: 'b', vpool: 'p2', vdisks: 9 }], expect: { a: 2, b: 2 } },
  { title: 'no online StorageDriver of the vPool: unplaced', orphans: orphans(3, 'p3'), candidates: [{ storagedriver: 'a', vpool: 'p1', vdisks: 0 }], expect: {}, unplaced: 3 },
  { title: 'one candidate takes all', orphans: orphans(5), candidates: [{ storagedriver: 'a', vpool: 'p1', vdisks: 7 }], expect: { a: 5 } },
];

for (const c of placementCases) {
  test(`placeFailover: ${c.title}`, (t) => {
    const { placed, unplaced } = placeFailover(c.orphans, c.candidates);
    const counts: Record<string, number> = {};
    for (const sd of placed.values()) counts[sd] = (counts[sd] ?? 0) + 1;
    t.deepEqual(counts, c.expect);
    t.is(unplaced.length, c.unplaced ?? 0);
    for (const [vdisk, sd] of placed) t.is(c.candidates.find((x) => x.storagedriver === sd)!.vpool, c.orphans.find((o) => o.vdisk === vdisk)!.vpool);
  });
}

test('placeFailover does not depend on the order the orphans come in', (t) => {
  const cands: FailoverCandidate[] = [{ storagedriver: 'a', vpool: 'p1', vdisks: 1 }, { storagedriver: 'b', vpool: 'p1', vdisks: 0 }, { storagedriver: 'c', vpool: 'p1', vdisks: 2 }];
  t.deepEqual([...placeFailover(orphans(7), cands).placed].sort(), [...placeFailover(orphans(7).reverse(), cands).placed].sort());
});

const T = 10_000;
const livenessCases: Array<{ title: string; lastSeen: Record<string, number>; offline?: string[]; now: number; watchingSince?: number; expect: { goneOffline: string[]; backOnline: string[] } }> = [
  { title: 'everyone beating', lastSeen: { a: 95_000, b: 99_000 }, now: 100_000, expect: { goneOffline: [], backOnline: [] } },
  { title: 'silent longer than the timeout: offline', lastSeen: { a: 89_000, b: 99_000 }, now: 100_000, expect: { goneOffline: ['a'], backOnline: [] } },
  { title: 'exactly at the timeout: not yet', lastSeen: { a: 90_000 }, now: 100_000, expect: { goneOffline: [], backOnline: [] } },
  { title: 'already offline: not declared twice', lastSeen: { a: 50_000 }, offline: ['a'], now: 100_000, expect: { goneOffline: [], backOnline: [] } },
  { title: 'an offline node that beats again: back online', lastSeen: { a: 99_500 }, offline: ['a'], now: 100_000, expect: { goneOffline: [], backOnline: ['a'] } },
  { title: 'never seen, but the watcher only just started: wait', lastSeen: {}, now: 100_000, watchingSince: 95_000, expect: { goneOffline: [], backOnline: [] } },
  { title: 'never seen for a whole timeout since watching: offline', lastSeen: {}, now: 100_000, watchingSince: 80_000, expect: { goneOffline: ['a', 'b'], backOnline: [] } },
  { title: 'seen before the watcher started counts from its start', lastSeen: { a: 10_000 }, now: 100_000, watchingSince: 95_000, expect: { goneOffline: [], backOnline: [] } },
];

for (const c of livenessCases) {
  test(`livenessChanges: ${c.title}`, (t) => {
    t.deepEqual(livenessChanges({ nodes: ['a', 'b'].filter((n) => n in c.lastSeen || Object.keys(c.lastSeen).length === 0), lastSeen: new Map(Object.entries(c.lastSeen)), offline: new Set(c.offline ?? []), now: c.now, watchingSince: c.watchingSince ?? 0, offlineAfterMs: T }), c.expect);
  });
}

// [title, last tick, now, tick ms, paused]
const pauses: Array<[string, number | undefined, number, number, boolean]> = [
  ['first tick', undefined, 50_000, 1_000, false],
  ['on time', 10_000, 11_000, 1_000, false],
  ['late by a busy event loop', 10_000, 12_900, 1_000, false],
  ['stopped for seconds (SIGSTOP)', 10_000, 18_000, 1_000, true],
];
for (const [title, lastTick, now, tickMs, paused] of pauses) {
  test(`wasPaused: ${title}`, (t) => {
    t.is(wasPaused(lastTick, now, tickMs), paused);
  });
}

test('after a pause the detector judges from then: the silence it measured is its own', (t) => {
  // Heartbeats last seen at 0 and 500, the detector stopped until 20 000: judged from 20 000 no one is silent yet.
  const lastSeen = new Map([['a', 0], ['b', 500]]);
  t.deepEqual(livenessChanges({ nodes: ['a', 'b'], lastSeen, offline: new Set(), now: 20_000, watchingSince: 0, offlineAfterMs: T }).goneOffline, ['a', 'b']);
  t.deepEqual(livenessChanges({ nodes: ['a', 'b'], lastSeen, offline: new Set(), now: 20_000, watchingSince: 20_000, offlineAfterMs: T }).goneOffline, []);
});

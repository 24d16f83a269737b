import test from 'ava';
import { type ConfigSetStoragerouter, servicesToAdd, servicesToRemove, storagedriverConfigSet } from '../../src/policies/mds-capacity.js';
import { compareIp, mdsLoad, preferredMds } from '../../src/policies/mds-load.js';
import type { MdsServiceView } from '../../src/policies/mds-safety.js';

const cap = (capacity: number, junctions: number): { capacity: number; junctions: number } => ({ capacity, junctions });

const loads: Array<{ title: string; capacity: number; junctions: number; current: number; next: number }> = [
  { title: 'a share of capacity, now and with one more vDisk', capacity: 10, junctions: 2, current: 20, next: 30 },
  { title: 'rounded to 5 decimals', capacity: 3, junctions: 1, current: 33.33333, next: 66.66667 },
  { title: 'unlimited capacity counts 50 %', capacity: -1, junctions: 400, current: 50, next: 50 },
  { title: 'capacity 0 is infinitely loaded', capacity: 0, junctions: 0, current: Infinity, next: Infinity },
];
for (const c of loads) {
  test(`mds load: ${c.title}`, (t) => {
    t.deepEqual(mdsLoad(c.capacity, c.junctions), { current: c.current, next: c.next });
  });
}

test('mds load: IPs compare numerically per octet', (t) => {
  t.deepEqual(['10.0.0.10', '10.0.0.9', '9.1.1.1', '10.0.1.0'].sort(compareIp), ['9.1.1.1', '10.0.0.9', '10.0.0.10', '10.0.1.0']);
});

const adds: Array<{ title: string; services: Array<{ capacity: number; junctions: number }>; maxLoad?: number; hasStorageDriver?: boolean; add: number }> = [
  { title: 'max_load 70: 8 vDisks on capacity 10 (next 90 %) → +1', services: [cap(10, 8)], add: 1 },
  { title: 'max_load 70: 20 vDisks on capacity 10 (next 210 %) → +2', services: [cap(10, 20)], add: 2 },
  { title: 'max_load 70: then 210 + 11 + 11 = 232 ≥ 210 → +1', services: [cap(10, 20), cap(100, 10), cap(100, 10)], add: 1 },
  { title: 'room left: nothing', services: [cap(10, 3), cap(100, 50)], add: 0 },
  { title: 'next load exactly max_load: nothing (still allowed)', services: [cap(10, 6)], add: 0 },
  { title: 'capacity 0 with vDisks (being drained): no additions on that SR', services: [cap(0, 3), cap(10, 20)], add: 0 },
  { title: 'capacity 0 without vDisks is removed first and not counted', services: [cap(0, 0), cap(10, 8)], add: 1 },
  { title: 'unlimited capacity counts 50 %', services: [cap(-1, 900)], maxLoad: 40, add: 1 },
  { title: 'fix: an SR with a StorageDriver and no MDS service gets one', services: [], add: 1 },
  { title: 'fix: an SR whose only service is removed gets a new one', services: [cap(0, 0)], add: 1 },
  { title: 'an SR without StorageDriver and no MDS service gets none', services: [], hasStorageDriver: false, add: 0 },
  { title: 'several services over: the excess in whole max_loads', services: [cap(10, 12), cap(10, 12)], add: 2 },
];
for (const c of adds) {
  test(`mds capacity: ${c.title}`, (t) => {
    t.is(servicesToAdd(c.services, c.maxLoad ?? 70, c.hasStorageDriver ?? true), c.add);
  });
}

test('mds capacity: only capacity 0 without vDisks is removed', (t) => {
  const list = [cap(0, 0), cap(0, 1), cap(10, 0), cap(-1, 0)];
  t.deepEqual(servicesToRemove(list), [list[0]]);
});

const NODES = 'abcdef';
const ipOf = (n: string): string => `10.0.0.${NODES.indexOf(n) + 1}`;
const sr = (guid: string, regularDomains: string[] = [], recoveryDomains: string[] = []): ConfigSetStoragerouter => ({ guid, ip: ipOf(guid), regularDomains, recoveryDomains });
/** "<node>:<port>" → junctions, capacity 10. */
const services = (spec: Record<string, number>): MdsServiceView[] => Object.entries(spec).map(([id, junctions]) => {
  const [node = '', port = ''] = id.split(':');
  return { id, storagerouter: node, ip: ipOf(node), port: Number(port), capacity: 10, junctions };
});
const render = (set: Record<string, Array<{ host: string; port: number }>>): Record<string, string[]> =>
  Object.fromEntries(Object.entries(set).map(([k, list]) => [k, list.map((e) => `${NODES[Number(e.host.split('.')[3]) - 1] ?? '?'}:${e.port}`)]));

const sets: Array<{ title: string; srs: ConfigSetStoragerouter[]; services: Record<string, number>; safety: number; offline?: string[]; random?: () => number; expect: Record<string, string[]> }> = [
  {
    title: 'no domains: itself first, then the others by ascending load',
    srs: [sr('a'), sr('b'), sr('c')], services: { 'a:1': 1, 'b:1': 2, 'c:1': 3 }, safety: 3,
    expect: { a: ['a:1', 'b:1', 'c:1'], b: ['b:1', 'a:1', 'c:1'], c: ['c:1', 'a:1', 'b:1'] },
  },
  {
    title: 'each SR offers its least loaded service',
    srs: [sr('a'), sr('b')], services: { 'a:1': 5, 'a:2': 1, 'b:1': 9, 'b:2': 9 }, safety: 2,
    expect: { a: ['a:2', 'b:1'], b: ['b:1', 'a:2'] },
  },
  {
    title: 'safety caps the length',
    srs: [sr('a'), sr('b'), sr('c')], services: { 'a:1': 1, 'b:1': 2, 'c:1': 3 }, safety: 1,
    expect: { a: ['a:1'], b: ['b:1'], c: ['c:1'] },
  },
  {
    title: 'regular domain first, then the recovery domain',
    srs: [sr('a', ['d1'], ['d2']), sr('b', ['d1'], ['d2']), sr('c', ['d2'], ['d1']), sr('d', ['d2'], ['d1'])], services: { 'a:1': 0, 'b:1': 5, 'c:1': 1, 'd:1': 2 }, safety: 3,
    expect: { a: ['a:1', 'b:1', 'c:1'], b: ['b:1', 'a:1', 'c:1'], c: ['c:1', 'd:1', 'a:1'], d: ['d:1', 'c:1', 'a:1'] },
  },
  {
    title: 'fix: an SR in both the regular and the recovery domain is listed once',
    srs: [sr('a', ['d1'], ['d2']), sr('b', ['d1', 'd2']), sr('c', ['d2'])], services: { 'a:1': 0, 'b:1': 1, 'c:1': 2 }, safety: 3,
    expect: { a: ['a:1', 'b:1', 'c:1'], b: ['b:1', 'a:1', 'c:1'], c: ['c:1', 'b:1'] },
  },
  {
    title: 'offline SRs get no entry and are offered to none',
    srs: [sr('a'), sr('b'), sr('c')], services: { 'a:1': 1, 'b:1': 0, 'c:1': 3 }, safety: 3, offline: ['b'],
    expect: { a: ['a:1', 'c:1'], c: ['c:1', 'a:1'] },
  },
  {
    title: 'an SR without MDS service gets no entry and is offered to none',
    srs: [sr('a'), sr('b'), sr('c')], services: { 'a:1': 1, 'c:1': 3 }, safety: 3,
    expect: { a: ['a:1', 'c:1'], c: ['c:1', 'a:1'] },
  },
  {
    title: 'equal loads in random order (injected): one order',
    srs: [sr('a'), sr('b'), sr('c'), sr('d')], services: { 'a:1': 1, 'b:1': 1, 'c:1': 1, 'd:1': 1 }, safety: 2, random: () => 0.999,
    expect: { a: ['a:1', 'b:1'], b: ['b:1', 'a:1'], c: ['c:1', 'a:1'], d: ['d:1', 'a:1'] },
  },
  {
    title: 'equal loads in random order (injected): another order',
    srs: [sr('a'), sr('b'), sr('c'), sr('d')], services: { 'a:1': 1, 'b:1': 1, 'c:1': 1, 'd:1': 1 }, safety: 2, random: () => 0.5,
    expect: { a: ['a:1', 'd:1'], b: ['b:1', 'a:1'], c: ['c:1', 'a:1'], d: ['d:1', 'a:1'] },
  },
];
for (const c of sets) {
  test(`mds config set: ${c.title}`, (t) => {
    const set = storagedriverConfigSet({ vpoolSrs: c.srs, services: services(c.services), safety: c.safety, offline: c.offline ?? [], random: c.random ?? (() => 0) });
    t.deepEqual(render(set), c.expect);
  });
}

test('mds config set: every list starts with its own SR and names no SR twice, whatever the random draw', (t) => {
  const srs = [sr('a', ['d1'], ['d2']), sr('b', ['d1', 'd2'], ['d1']), sr('c', ['d2'], ['d1']), sr('d', [], ['d1'])];
  let seed = 7;
  const random = (): number => (seed = (seed * 48271) % 2147483647) / 2147483647;
  for (let round = 0; round < 20; round++) {
    const set = storagedriverConfigSet({ vpoolSrs: srs, services: services({ 'a:1': 1, 'b:1': 1, 'c:1': 2, 'd:1': 1 }), safety: 4, offline: [], random });
    for (const [guid, list] of Object.entries(set)) {
      t.is(list[0]?.host, ipOf(guid));
      t.is(new Set(list.map((e) => e.host)).size, list.length);
    }
  }
});

test('mds load: the preferred service is the least loaded, first in service order on ties', (t) => {
  const list = services({ 'a:2': 1, 'a:1': 1, 'a:3': 0 });
  t.is(preferredMds(list)?.service.id, 'a:3');
  t.is(preferredMds(list.slice(0, 2))?.service.id, 'a:1');
  t.is(preferredMds([]), null);
});

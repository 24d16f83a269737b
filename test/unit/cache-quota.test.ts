import test from 'ava';
import { assessCacheQuota, type QuotaStoragedriver, type QuotaVdisk } from '../../src/policies/cache-quota.js';

const GiB = 2 ** 30;
const sr = (capacity: number) => ({ guid: 'sr1', name: 'node-1', capacity });
const vd = (guid: string, quota: QuotaVdisk['quota'] = null, used: QuotaVdisk['used'] = {}): QuotaVdisk => ({ guid, name: guid, quota, used });
const sd = (vdisks: QuotaVdisk[], default_quota: QuotaStoragedriver['default_quota'] = {}): QuotaStoragedriver => ({ guid: 'sd1', storagerouter_guid: 'sr1', default_quota, vdisks });

const rows = [
  // 7 of 10 GiB: exactly 70 % is not above it; the original's integer division reported 0 % for all of these.
  { name: '70 % is quiet', capacity: 10 * GiB, sds: [sd([vd('a', { fragment: 7 * GiB })])], fragment: 70, levels: [] },
  { name: 'above 70 % warns', capacity: 10 * GiB, sds: [sd([vd('a', { fragment: 5 * GiB }), vd('b', { fragment: 3 * GiB })])], fragment: 80, levels: ['warning'] },
  { name: 'above 100 % is over-allocation', capacity: 10 * GiB, sds: [sd([vd('a'), vd('b')], { fragment: 6 * GiB })], fragment: 120, levels: ['error'] },
  { name: "own quota wins over the default, a null entry falls back", capacity: 10 * GiB, sds: [sd([vd('a', { fragment: GiB, block: null })], { fragment: 9 * GiB, block: 8 * GiB })], fragment: 10, block: 80, levels: ['warning'] },
  { name: 'no quotas at all request nothing', capacity: 10 * GiB, sds: [sd([vd('a')])], fragment: 0, levels: [] },
  { name: 'no capacity: no percentage, no division by zero', capacity: 0, sds: [sd([vd('a', { fragment: GiB })])], fragment: null, levels: [] },
];

for (const row of rows) {
  test(`assessCacheQuota: ${row.name}`, (t) => {
    const r = assessCacheQuota([sr(row.capacity)], row.sds);
    const pct = (cache: string) => r.allocations.find((a) => a.cache === cache)?.percentage;
    t.is(pct('fragment'), row.fragment);
    if (row.block !== undefined) t.is(pct('block'), row.block);
    t.deepEqual(r.warnings.map((w) => w.level), row.levels);
    for (const w of r.warnings) t.true(w.message.startsWith('OVS_WARNING: '), w.message);
  });
}

test('assessCacheQuota: a vDisk using more than its quota is reported; unknown use is not', (t) => {
  const r = assessCacheQuota([sr(100 * GiB)], [sd([vd('a', { fragment: GiB }, { fragment: 2 * GiB }), vd('b', { fragment: GiB }, { fragment: null }), vd('c', null, { fragment: 5 * GiB })])]);
  t.deepEqual(r.over_quota, [{ vdisk_guid: 'a', cache: 'fragment', quota: GiB, used: 2 * GiB }]);
  t.is(r.warnings.length, 1);
});

test('assessCacheQuota: StorageRouters without StorageDrivers are left out', (t) => {
  const r = assessCacheQuota([sr(GiB), { guid: 'sr2', name: 'node-2', capacity: GiB }], [sd([vd('a', { block: GiB })])]);
  t.deepEqual([...new Set(r.allocations.map((a) => a.storagerouter_guid))], ['sr1']);
});

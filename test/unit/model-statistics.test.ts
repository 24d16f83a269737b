import test from 'ava';
import { zeroCounters, type IoStatistics } from '../../src/dataplane/volume/io-statistics.js';
import { statisticsDynamics } from '../../src/model/dynamics/statistics.js';
import type { ModelObject, ModelReader } from '../../src/model/schema.js';
import { RateSampler } from '../../src/stats/rate-sampler.js';
import type { VoldrvApi } from '../../src/storagedriver/voldrv-api.js';

/** Each row: the clock and the counter at a read, and the rate that read must show. */
const rateCases: Array<{ name: string; reads: Array<{ at: number; written: number; rate: number }> }> = [
  { name: 'first read: 0', reads: [{ at: 100, written: 4096, rate: 0 }] },
  { name: 'delta over seconds', reads: [{ at: 100, written: 0, rate: 0 }, { at: 104, written: 8192, rate: 2048 }] },
  { name: 'fractional seconds', reads: [{ at: 100, written: 0, rate: 0 }, { at: 100.5, written: 1000, rate: 2000 }] },
  { name: 'counter reset (volume restarted or moved): 0', reads: [{ at: 100, written: 9000, rate: 0 }, { at: 102, written: 1000, rate: 0 }, { at: 103, written: 3000, rate: 2000 }] },
  { name: 'same instant: the previous rate again', reads: [{ at: 100, written: 0, rate: 0 }, { at: 101, written: 500, rate: 500 }, { at: 101, written: 900, rate: 500 }] },
  { name: 'previous sample older than the keep time: 0', reads: [{ at: 100, written: 0, rate: 0 }, { at: 141, written: 41_000, rate: 0 }, { at: 142, written: 42_000, rate: 1000 }] },
  { name: 'at the keep time: still a rate', reads: [{ at: 100, written: 0, rate: 0 }, { at: 140, written: 4000, rate: 100 }] },
];

for (const c of rateCases) {
  test(`rate sampler: ${c.name}`, (t) => {
    let now = 0;
    const sampler = new RateSampler(() => now, 40);
    for (const [i, r] of c.reads.entries()) {
      now = r.at;
      const out = sampler.sample('vdisk.a', { data_written: r.written, write_latency: 7 });
      t.is(out.data_written_ps, r.rate, `read ${i}`);
      t.is(out.timestamp, r.at);
      t.false('write_latency_ps' in out, 'latencies get no rate');
    }
  });
}

test('rate sampler: objects keep their own previous sample', (t) => {
  let now = 10;
  const sampler = new RateSampler(() => now);
  sampler.sample('vdisk.a', { data_read: 0 });
  sampler.sample('vdisk.b', { data_read: 1000 });
  now = 12;
  t.is(sampler.sample('vdisk.a', { data_read: 100 }).data_read_ps, 50);
  t.is(sampler.sample('vdisk.b', { data_read: 1100 }).data_read_ps, 50);
});

const counters = (write_bytes: number, block_size = 4096): IoStatistics => ({ ...zeroCounters(), write_bytes, write_requests: 1, block_size, volumes: 1 });

function reader(objects: Record<string, ModelObject[]>): ModelReader {
  const list = (type: string, filter: Record<string, unknown> = {}) =>
    (objects[type] ?? []).filter((o) => Object.entries(filter).every(([k, v]) => o[k] === v));
  return { list, find: (type: string, guid: string) => list(type).find((o) => o.guid === guid) } as unknown as ModelReader;
}

/** Volume drivers answering from `bySd` (undefined: never answers; an Error: refuses). */
function drivers(bySd: Record<string, IoStatistics | Error | undefined>): (sd: string) => VoldrvApi {
  const answer = (sd: string) => {
    const v = bySd[sd];
    if (v === undefined) return new Promise<IoStatistics>(() => undefined);
    return v instanceof Error ? Promise.reject(v) : Promise.resolve(v);
  };
  return (sd) => ({ statistics_node: () => answer(sd), statistics_volume: () => answer(sd) }) as unknown as VoldrvApi;
}

const model = reader({
  storagedriver: [
    { guid: 'sd1', storagerouter_guid: 'sr1', vpool_guid: 'vp' },
    { guid: 'sd2', storagerouter_guid: 'sr2', vpool_guid: 'vp' },
  ],
});

test('statistics: a vDisk from its volume, StorageRouter and vPool summed over their StorageDrivers', async (t) => {
  const d = statisticsDynamics(drivers({ sd1: counters(8192), sd2: counters(4096) }), new RateSampler(() => 1), 50);
  const vd = (await d.vdisk.statistics!.compute({ guid: 'v', storagedriver_guid: 'sd1', volume_id: 'v' }, model)) as Record<string, number>;
  t.like(vd, { data_written: 8192, '4k_write_operations': 2, data_written_ps: 0, timestamp: 1 });
  t.like(await d.storagedriver.statistics!.compute({ guid: 'sd2', storagerouter_guid: 'sr2', vpool_guid: 'vp' }, model), { data_written: 4096 });
  t.like(await d.storagerouter.statistics!.compute({ guid: 'sr1' }, model), { data_written: 8192, write_operations: 1 });
  t.like(await d.vpool.statistics!.compute({ guid: 'vp' }, model), { data_written: 12_288, write_operations: 2 });
  t.like(await d.storagerouter.statistics!.compute({ guid: 'sr-without-sds' }, model), { data_written: 0 });
  t.is(d.vdisk.statistics!.ttlMs, 4_000);
});

test('statistics: an owner that does not answer or refuses reads as null, not an error', async (t) => {
  const d = statisticsDynamics(drivers({ sd1: counters(8192), sd2: undefined, sd3: new Error('not running') }), new RateSampler(() => 1), 50);
  t.is(await d.vdisk.statistics!.compute({ guid: 'v', storagedriver_guid: 'sd2', volume_id: 'v' }, model), null);
  t.is(await d.vdisk.statistics!.compute({ guid: 'v', storagedriver_guid: 'sd3', volume_id: 'v' }, model), null);
  t.is(await d.vdisk.statistics!.compute({ guid: 'v', volume_id: 'v' }, model), null, 'no owner');
  t.is(await d.vpool.statistics!.compute({ guid: 'vp' }, model), null, 'one StorageDriver of the vPool silent');
  t.like(await d.storagerouter.statistics!.compute({ guid: 'sr1' }, model), { data_written: 8192 });
});

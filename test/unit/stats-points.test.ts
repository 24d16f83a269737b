import test from 'ava';
import pino from 'pino';
import { zeroCounters } from '../../src/dataplane/volume/io-statistics.js';
import { StatsSendError } from '../../src/errors.js';
import { vpoolFields, type StatsPoint } from '../../src/stats/collectors.js';
import { extractStatistics, withRates } from '../../src/stats/extract.js';
import { runAll } from '../../src/stats/run-all.js';
import { graphiteLines } from '../../src/stats/transports/graphite.js';
import type { StatsMonkeyConfig } from '../../src/policies/stats-config.js';

const log = pino({ level: 'silent' });

test('extract: legacy aliases, 4k operations by block size, sums', (t) => {
  const s = extractStatistics({ ...zeroCounters(), read_requests: 2, read_bytes: 8192, write_requests: 3, write_bytes: 3 * 16_384, block_size: 4096, volumes: 1 });
  t.like(s, { data_read: 8192, data_written: 49_152, read_operations: 2, write_operations: 3, operations: 5, '4k_read_operations': 2, '4k_write_operations': 12, '4k_operations': 14, data_transferred: 57_344 });
});

test('rates: per second against the previous sample, never negative, none for latencies', (t) => {
  const first = withRates({ values: { data_read: 100, read_latency: 5 }, timestamp: 10 }, undefined);
  t.like(first.values, { data_read_ps: 0, timestamp: 10 });
  t.false('read_latency_ps' in first.values);
  const second = withRates({ values: { data_read: 300, read_latency: 5 }, timestamp: 12 }, { values: { data_read: 100 }, timestamp: 10, rates: first.rates });
  t.is(second.values.data_read_ps, 100);
  const reset = withRates({ values: { data_read: 0 }, timestamp: 13 }, { values: { data_read: 300 }, timestamp: 12, rates: second.rates });
  t.is(reset.values.data_read_ps, 0, 'counters restart after a move: no negative rate');
  const sameTime = withRates({ values: { data_read: 500 }, timestamp: 12 }, { values: { data_read: 300 }, timestamp: 12, rates: second.rates });
  t.is(sameTime.values.data_read_ps, 100, 'Δt = 0 keeps the previous rate');
});

test('vpool fields: _ps dropped, nested maps flattened with _', (t) => {
  t.deepEqual(vpoolFields({ data_read: 5, data_read_ps: 1, nested: { a: 1, b: { c: 2 } }, label: 'x' }), { data_read: 5, nested_a: 1, nested_b_c: 2 });
});

test('graphite lines: openvstorage.fwk.<db>.<env>.<measurement>.<vpool>.<sr>.<mds>.<field> <value> <epoch>, missing parts dropped', (t) => {
  const points: StatsPoint[] = [
    { measurement: 'mds', tags: { environment: 'prod', vpool_name: 'pool-1', storagerouter_name: 'node 1', mds_number: '0' }, fields: { load: 50, masters: 1 } },
    { measurement: 'vpool', tags: { environment: 'prod', vpool_name: 'pool-1' }, fields: { data_read: 7 } },
  ];
  t.deepEqual(graphiteLines('ovs.db', points, 1_700_000_000), [
    'openvstorage.fwk.ovs_db.prod.mds.pool-1.node_1.0.load 50 1700000000',
    'openvstorage.fwk.ovs_db.prod.mds.pool-1.node_1.0.masters 1 1700000000',
    'openvstorage.fwk.ovs_db.prod.vpool.pool-1.data_read 7 1700000000',
  ]);
});

const config = { host: '127.0.0.1', port: 1, database: 'd', transport: 'redis', environment: 'e', interval: 2, get_stats_mds: 1 } as StatsMonkeyConfig;
const point = (m: string): StatsPoint => ({ measurement: m, tags: { environment: 'e' }, fields: { x: 1 } });

test('run_all: every method runs its plan; a failing method fails the task after the others sent, failures sorted', async (t) => {
  const sent: string[] = [];
  const sleeps: number[] = [];
  const err = await t.throwsAsync(runAll({
    config, log,
    // Lets the run started before it finish (collect and send settle in microtasks).
    sleep: (ms) => {
      sleeps.push(ms);
      return new Promise((resolve) => setImmediate(resolve));
    },
    transport: () => ({
      send: async (points) => {
        if (points[0]?.measurement === 'vpool') throw new Error('connection refused');
        sent.push(points[0]!.measurement);
      },
    }),
    methods: {
      get_stats_vpools: async () => ({ errors: [], points: [point('vpool')] }),
      get_stats_storagerouters: async () => ({ errors: ['StorageRouter a: no counters'], points: [point('storagerouter')] }),
      get_stats_mds: async () => ({ errors: [], points: [point('mds')] }),
    },
  }), { instanceOf: StatsSendError });
  t.deepEqual(err?.details.failed, ['get_stats_storagerouters', 'get_stats_vpools']);
  t.regex(err.details.errors.get_stats_vpools ?? '', /connection refused/);
  t.deepEqual(sent.sort(), ['mds', 'mds', 'storagerouter'], 'mds twice (every 1 s in 2 s), the others once');
  t.deepEqual(sleeps, [1000], 'sleeps between runs only, not after the last');
});

test('run_all: a run still going when the next is due is skipped', async (t) => {
  let release!: () => void;
  const slow = new Promise<void>((r) => (release = r));
  const out = await runAll({
    config: { ...config, interval: 3 }, log,
    sleep: async () => undefined,
    transport: () => ({ send: async () => undefined }),
    methods: {
      get_stats_mds: async () => {
        setTimeout(release, 10);
        await slow;
        return { errors: [], points: [point('mds')] };
      },
    },
  });
  t.like(out.methods.get_stats_mds, { interval_s: 1, runs: 1, skipped: 2, points: 1 });
});

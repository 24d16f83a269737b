import test from 'ava';
import { randomUUID } from 'node:crypto';
import { connect, type KV } from 'nats';
import pino from 'pino';
import { request } from '../../src/client.js';
import { configKey } from '../../src/config/keys.js';
import { MigrationRecordStore, MIGRATION_KEY, type MigrationRecord } from '../../src/migrations/record.js';
import { runMigrations, type MigrateOutcome, type MigrationStep } from '../../src/migrations/runner.js';
import { decode, encode } from '../../src/protocol/codec.js';
import { AgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/eventually.js';
import { NatsServer } from '../helpers/nats-server.js';

const VPOOL = randomUUID();

async function read(kv: KV, key: string): Promise<unknown> {
  const e = await kv.get(key);
  return e && e.operation === 'PUT' ? decode(e.value) : undefined;
}

/** What an earlier version left in its store: a vPool from before rdma_enabled/metadata_store_bits, old config keys. */
async function writeEarlierVersion(url: string): Promise<void> {
  const nc = await connect({ servers: url });
  const js = nc.jetstream();
  const model = await js.views.kv('ovs_model', { history: 1 });
  const config = await js.views.kv('ovs_config', { history: 1 });
  await model.put(`vpool.${VPOOL}`, encode({ name: 'oldpool', description: null, status: 'RUNNING', metadata: { backend: { backend_info: { type: 'local', path: '/nowhere' } } } }));
  await config.put(configKey('/ovs/framework/support'), encode({ enabled: true, enablesupport: false, interval: 60 }));
  await config.put(configKey('/statsmonkey/statsmonkey'), encode({ host: '10.0.0.9', port: 8086, database: 'ovs', interval: 60, transport: 'influxdb', environment: 'lab' }));
  await config.put(configKey('/ovs/framework/scheduling/celery'), encode({ 'statsmonkey.run_all_stats': '0 * * * *' }));
  await nc.drain();
}

test('the current agent on an earlier data dir: its start migrates the model and config to the current shape, once', async (t) => {
  const first = await NatsServer.start();
  await writeEarlierVersion(first.url);
  await first.stop(true);
  const nats = await NatsServer.startAt(first);
  t.teardown(() => nats.stop());
  const agent = await AgentProcess.start({ natsUrl: nats.url, name: 'node-1', ip: '127.0.0.1' });
  t.teardown(() => agent.stop());
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const js = nc.jetstream();
  const model = await js.views.kv('ovs_model', { bindOnly: true });
  const config = await js.views.kv('ovs_config', { bindOnly: true });
  // The agent that takes the cluster lease runs the migrations itself when it starts.
  await waitFor('the migrations at start', async () => {
    const r = (await read(config, configKey(MIGRATION_KEY))) as MigrationRecord | undefined;
    return r?.model_declared_fields === true && r.stats_monkey_integration === true && r.claim === null ? r : undefined;
  }, 30_000, 200);
  t.like(await read(model, `vpool.${VPOOL}`), { name: 'oldpool', status: 'RUNNING', rdma_enabled: false, metadata_store_bits: null, login: null });
  t.deepEqual(await read(config, configKey('/ovs/framework/support')), { interval: 60, support_agent: true, remote_access: false });
  t.is(await read(config, configKey('/statsmonkey/statsmonkey')), undefined);
  t.like(await read(config, configKey('/ovs/framework/monitoring/stats_monkey')), { host: '10.0.0.9', transport: 'influxdb' });
  t.deepEqual(await read(config, configKey('/ovs/framework/scheduling/celery')), { 'ovs.stats_monkey.run_all': '0 * * * *', 'alba.stats_monkey.run_all': '0 * * * *' });
  const record = (await read(config, configKey(MIGRATION_KEY))) as MigrationRecord;
  t.like(record, { model_declared_fields: true, stats_monkey_integration: true, model_version: 1, claim: null });
  t.deepEqual(record.history!.map((h) => h.step), ['model_declared_fields', 'stats_monkey_integration']);
  t.deepEqual(record.history![0]!.changes, { objects: { vpool: 1 } });

  const again = await request<MigrateOutcome>(nc, 'ovs.task.migration.migrate', {});
  t.is(again.model_version, 1);
  t.deepEqual(again.ran, []);
  t.deepEqual(again.done_before, ['model_declared_fields', 'stats_monkey_integration']);
  t.is(((await read(config, configKey(MIGRATION_KEY))) as MigrationRecord).history!.length, 2, 'nothing ran twice');
});

test('two runners at once on one record: every step runs exactly once', async (t) => {
  const nats = await NatsServer.start();
  t.teardown(() => nats.stop());
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const kv = await nc.jetstream().views.kv('ovs_config', { history: 1 });
  const runs: string[] = [];
  const steps: MigrationStep[] = ['a', 'b', 'c'].map((name) => ({
    name,
    run: async () => {
      runs.push(name);
      await new Promise((r) => setTimeout(r, 20));
      return {};
    },
  }));
  const log = pino({ level: 'silent' });
  const runner = (by: string): Promise<MigrateOutcome> => runMigrations(steps, { records: new MigrationRecordStore(kv), by, now: () => Date.now(), staleClaimMs: 60_000, log });
  const outcomes = await Promise.all([runner('one'), runner('two'), runner('three')]);
  // A caller that meets someone else's live claim stops; the others finish the rest: call until nothing is left.
  while ((await runner('last')).ran.length > 0);
  t.deepEqual([...runs].sort(), ['a', 'b', 'c'], `each step once (outcomes: ${JSON.stringify(outcomes)})`);
});

test('a claim older than the stale limit is taken over; a failing step is MIGRATION_FAILED and stays to run', async (t) => {
  const nats = await NatsServer.start();
  t.teardown(() => nats.stop());
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const kv = await nc.jetstream().views.kv('ovs_config', { history: 1 });
  const records = new MigrationRecordStore(kv);
  await records.write({ claim: { step: 'a', by: 'dead', since: 1_000 } }, 0);
  const log = pino({ level: 'silent' });
  let fail = true;
  const steps: MigrationStep[] = [
    { name: 'a', run: () => Promise.resolve({ ok: 1 }) },
    { name: 'b', run: () => (fail ? Promise.reject(new Error('disk full')) : Promise.resolve({})) },
  ];
  const deps = { records, by: 'me', now: () => 10_000, staleClaimMs: 5_000, log };
  const err = await t.throwsAsync(runMigrations(steps, deps));
  t.like(err, { type: 'MIGRATION_FAILED', details: { step: 'b', done: ['a'] } });
  t.like((await records.read()).record, { a: true, claim: null });
  fail = false;
  t.deepEqual((await runMigrations(steps, deps)).ran, ['b']);
});

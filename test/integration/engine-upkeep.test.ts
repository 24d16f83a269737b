import test from 'ava';
import { randomUUID } from 'node:crypto';
import { AckPolicy, connect, type KV, type NatsConnection } from 'nats';
import { request } from '../../src/client.js';
import { configKey } from '../../src/config/keys.js';
import type { BucketUpkeep, StreamUpkeep } from '../../src/engine/upkeep.js';
import type { ReplicaCheckup } from '../../src/engine/replicas.js';
import { VOLDRV_STREAM } from '../../src/events/voldrv-events.js';
import { encode } from '../../src/protocol/codec.js';
import { AgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/eventually.js';
import { NatsServer } from '../helpers/nats-server.js';

type Live = Map<string, { revision: number; value: string }>;

async function liveValues(kv: KV): Promise<Live> {
  const out: Live = new Map();
  const w = await kv.watch({ key: '>', initializedFn: () => w.stop() });
  for await (const e of w) if (e.operation === 'PUT') out.set(e.key, { revision: e.revision, value: Buffer.from(e.value).toString('hex') });
  return out;
}

async function messagesOf(nc: NatsConnection, stream: string): Promise<number> {
  return (await (await nc.jetstreamManager()).streams.info(stream)).state.messages;
}

test('collapse_arakoon on a real agent: history, old markers, expired results and acknowledged events go; every live value stays', async (t) => {
  const nats = await NatsServer.start();
  t.teardown(() => nats.stop());
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const js = nc.jetstream();
  // An operator-made configuration bucket that keeps history: the agent opens it as it is.
  const config = await js.views.kv('ovs_config', { history: 10 });
  const agent = await AgentProcess.start({ natsUrl: nats.url, name: 'node-1', ip: '127.0.0.1' });
  t.teardown(() => agent.stop());

  for (const v of ['1', '2', '3']) await config.put(configKey('/ovs/test/a'), encode(v));
  await config.put(configKey('/ovs/test/b'), encode('gone soon'));
  await config.delete(configKey('/ovs/test/b'));
  await config.put(configKey('/ovs/framework/upkeep'), encode({ delete_markers_keep_s: 0, task_results_keep_s: 3600 }));
  const tasks = await js.views.kv('ovs_tasks', { bindOnly: true });
  const now = Date.now();
  await tasks.put('old-done', encode({ task_id: 'old-done', task: 'x.y', status: 'SUCCESS', submitted_at: now - 7_300_000, finished_at: now - 7_200_000, result: null }));
  await tasks.put('fresh-done', encode({ task_id: 'fresh-done', task: 'x.y', status: 'SUCCESS', submitted_at: now, finished_at: now, result: null }));
  await tasks.put('old-running', encode({ task_id: 'old-running', task: 'x.y', status: 'RUNNING', submitted_at: now - 7_300_000 }));

  // Events: the agent's consumer acknowledges all; a second durable consumer only the first two.
  const jsm = await nc.jetstreamManager();
  await jsm.consumers.add(VOLDRV_STREAM, { durable_name: 'slow-reader', ack_policy: AckPolicy.Explicit });
  const before = await messagesOf(nc, VOLDRV_STREAM);
  for (let i = 0; i < 5; i++) await js.publish('ovs.evt.voldrv.test_noop', encode({ type: 'test_noop', i }));
  const slow = await js.consumers.get(VOLDRV_STREAM, 'slow-reader');
  for (let i = 0; i < before + 2; i++) {
    const m = await slow.next({ expires: 5_000 });
    if (!m) throw new Error('no event for the slow reader');
    await m.ackAck();
  }
  const last = (await jsm.streams.info(VOLDRV_STREAM)).state.last_seq;
  await waitFor('the agent acknowledged every event', async () => (await jsm.consumers.info(VOLDRV_STREAM, 'ovs-voldrv-events')).ack_floor.stream_seq === last);

  const buckets = ['ovs_model', 'ovs_config', 'ovs_leases'];
  const liveBefore = new Map<string, Live>();
  for (const b of buckets) liveBefore.set(b, await liveValues(await js.views.kv(b, { bindOnly: true })));

  const out = await request<{ buckets: Record<string, BucketUpkeep>; streams: Record<string, StreamUpkeep>; errors: Record<string, string> }>(nc, 'ovs.task.generic.collapse_arakoon', {});
  t.deepEqual(out.errors, {});
  const cfg = out.buckets.ovs_config!;
  t.true(cfg.purged.history >= 1 && cfg.purged.delete_marker >= 1, JSON.stringify(cfg));
  t.true(cfg.messages_after < cfg.messages_before && cfg.bytes_removed > 0);
  const history: string[] = [];
  for await (const e of await config.history({ key: configKey('/ovs/test/a') })) history.push(e.string());
  t.deepEqual(history, [Buffer.from(encode('3')).toString()], 'only the newest value of a key is left');
  t.is(out.buckets.ovs_tasks!.purged.task_result, 1);
  t.truthy(await tasks.get('fresh-done'));
  t.truthy(await tasks.get('old-running'));
  t.is((await tasks.get('old-done'))?.operation, undefined, 'the expired outcome is gone without a marker');
  const events = out.streams[VOLDRV_STREAM]!;
  t.is(events.durable_consumers, 2);
  t.is(events.messages_after, 3, 'what the slow reader has not acknowledged stays');
  t.is(await messagesOf(nc, VOLDRV_STREAM), 3);

  for (const b of buckets) {
    const after = await liveValues(await js.views.kv(b, { bindOnly: true }));
    for (const [key, was] of liveBefore.get(b)!) {
      const now = after.get(key);
      t.truthy(now, `${b}/${key} is still there`);
      if (now && now.revision === was.revision) t.is(now.value, was.value, `${b}/${key} unchanged`);
    }
  }

  await config.put(configKey('/ovs/framework/upkeep'), encode({ task_results_keep_s: -1 }));
  await t.throwsAsync(request(nc, 'ovs.task.generic.collapse_arakoon', {}), { message: /task_results_keep_s/ }).then((e) => t.is((e as { type?: string } | undefined)?.type, 'ENGINE_CONFIG'));
});

test('voldrv_arakoon_checkup on one server: registry buckets created at R1, nothing to grow; manual answers true', async (t) => {
  const nats = await NatsServer.start();
  t.teardown(() => nats.stop());
  const agent = await AgentProcess.start({ natsUrl: nats.url, name: 'node-1', ip: '127.0.0.1' });
  t.teardown(() => agent.stop());
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const vpool = randomUUID();
  const model = await nc.jetstream().views.kv('ovs_model', { bindOnly: true });
  await model.put(`vpool.${vpool}`, encode({ name: 'pool1', description: null, status: 'RUNNING', rdma_enabled: false, metadata_store_bits: null, login: null, password: null, connection: null, metadata: {} }));
  const bucket = `ovs_registry_${vpool}`;
  const report = await waitFor('the agent sees the vPool', async () => {
    const r = await request<ReplicaCheckup>(nc, 'ovs.task.storagedriver.scheduled_voldrv_arakoon_checkup', {});
    return r.changes.length > 0 ? r : undefined;
  });
  t.is(report.jetstream_servers, 1);
  t.is(report.target_replicas, 1);
  t.deepEqual(report.changes, [{ name: bucket, action: 'create', to: 1 }]);
  t.deepEqual(report.errors, {});
  t.is(report.replicas.ovs_model, 1);
  t.is(report.replicas[bucket], 1);
  t.is((await (await nc.jetstreamManager()).streams.info(`KV_${bucket}`)).config.num_replicas, 1);
  t.true(await request<boolean>(nc, 'ovs.task.storagedriver.manual_voldrv_arakoon_checkup', {}));
  t.deepEqual((await request<ReplicaCheckup>(nc, 'ovs.task.storagedriver.scheduled_voldrv_arakoon_checkup', {})).changes, []);
});

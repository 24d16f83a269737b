import test from 'ava';
import { connect, type NatsConnection } from 'nats';
import { checkReplicas, jetstreamServers } from '../../src/engine/replicas.js';
import { waitFor } from '../helpers/eventually.js';
import { NatsCluster } from '../helpers/nats-cluster.js';

const BUCKETS = ['ovs_model', 'ovs_config', 'ovs_registry_pool1'];

async function replicasOf(nc: NatsConnection, bucket: string): Promise<number> {
  return (await (await nc.jetstreamManager()).streams.info(`KV_${bucket}`)).config.num_replicas;
}

test('buckets made on a two-server cluster grow to R2, then to R3 when a third server joins; values stay', async (t) => {
  const cluster = await NatsCluster.create(3);
  t.teardown(() => cluster.stop());
  await cluster.start(0);
  await cluster.start(1);
  const nc = await connect({ servers: cluster.urls, maxReconnectAttempts: -1 });
  t.teardown(() => nc.close());
  const js = nc.jetstream();
  await waitFor('the two servers gossip each other', () => jetstreamServers(nc) === 2, 15_000);
  // Until the two servers have a JetStream meta leader, JetStream requests time out: retry.
  const jsm = await waitFor('a JetStream meta leader', () => nc.jetstreamManager(), 20_000, 200);
  for (const b of BUCKETS.slice(0, 2)) {
    const kv = await waitFor(`bucket ${b}`, () => js.views.kv(b, { history: 1, replicas: 1 }), 20_000, 200);
    await kv.put('k', new TextEncoder().encode(`value of ${b}`));
  }

  const first = await checkReplicas(nc, js, jsm, { buckets: BUCKETS, streams: ['NO_SUCH_STREAM'] });
  t.is(first.jetstream_servers, 2);
  t.is(first.target_replicas, 2);
  t.deepEqual(first.errors, {});
  t.deepEqual(first.changes, [
    { name: 'ovs_model', action: 'grow', from: 1, to: 2 },
    { name: 'ovs_config', action: 'grow', from: 1, to: 2 },
    { name: 'ovs_registry_pool1', action: 'create', to: 2 },
  ]);
  for (const b of BUCKETS) t.is(await replicasOf(nc, b), 2, b);

  await cluster.start(2);
  await waitFor('the third server is gossiped', () => jetstreamServers(nc) === 3, 20_000, 100);
  // While the new server catches up a stream update can fail (or time out after it took effect): later runs finish
  // the rest, so what grew is summed over the runs until one reports no error.
  const grown: string[] = [];
  const second = await waitFor('growth to three replicas', async () => {
    const r = await checkReplicas(nc, js, jsm, { buckets: BUCKETS, streams: [] });
    for (const c of r.changes) if (c.action === 'grow' && !grown.includes(c.name)) grown.push(c.name);
    return Object.keys(r.errors).length === 0 ? r : undefined;
  }, 30_000, 500);
  t.is(second.target_replicas, 3);
  t.true(grown.every((b) => BUCKETS.includes(b)), grown.join(', '));
  t.true(grown.length > 0, 'something grew');
  for (const b of BUCKETS) t.is(await replicasOf(nc, b), 3, b);
  const kv = await js.views.kv('ovs_model', { bindOnly: true });
  t.is(new TextDecoder().decode((await kv.get('k'))!.value), 'value of ovs_model');

  const third = await checkReplicas(nc, js, jsm, { buckets: BUCKETS, streams: [] });
  t.deepEqual(third.changes, [], 'nothing left to grow');
});

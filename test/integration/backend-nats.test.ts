import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { connect, type NatsConnection } from 'nats';
import { pino } from 'pino';
import { fsck } from '../../src/dataplane/backend/fsck.js';
import { backendBucketName, NatsObjectBackend } from '../../src/dataplane/backend/nats-object.js';
import { TEST_GEOMETRY } from '../../src/dataplane/common/geometry.js';
import { VolumeDriver } from '../../src/dataplane/driver/volume-driver.js';
import { KvRegistry } from '../../src/dataplane/registry/kv-registry.js';
import { waitFor } from '../helpers/eventually.js';
import { NatsServer } from '../helpers/nats-server.js';
import { pattern } from '../helpers/volume-harness.js';

const MiB = 1024 * 1024;

interface Node {
  driver: VolumeDriver;
  backend: NatsObjectBackend;
}

/** Two nodes of one vPool on one NATS: each has its own connection, registry client and backend client. */
async function cluster(t: { teardown: (fn: () => Promise<void>) => void }): Promise<{ start: (nodeId: string) => Promise<Node>; vpool: string }> {
  const server = await NatsServer.start();
  const dir = await mkdtemp(join(tmpdir(), 'ovs-natsbk-'));
  const vpool = randomUUID();
  const connections: NatsConnection[] = [];
  const started: Array<{ driver: VolumeDriver; registry: KvRegistry }> = [];
  t.teardown(async () => {
    for (const { driver, registry } of started) {
      await driver.stop();
      await registry.close();
    }
    for (const nc of connections) await nc.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const start = async (nodeId: string): Promise<Node> => {
    const nc = await connect({ servers: server.url });
    connections.push(nc);
    const registry = new KvRegistry(nc.jetstream(), { vpool, nodeId });
    const backend = new NatsObjectBackend(nc.jetstream(), { bucket: backendBucketName(vpool) });
    const driver = new VolumeDriver({
      vpool, nodeId, dataRoot: join(dir, nodeId), backend, geometry: TEST_GEOMETRY, allowTinyScos: true, registry,
      log: pino({ level: process.env.OVS_TEST_LOG ?? 'silent' }),
    });
    await driver.start();
    started.push({ driver, registry });
    return { driver, backend };
  };
  return { start, vpool };
}

test('a volume moves to another node through the nats backend, and its stale first owner is fenced and halts', async (t) => {
  const { start } = await cluster(t);
  const n1 = await start('node1');
  const n2 = await start('node2');
  const id = await n1.driver.create_volume({ target_path: '/disk.raw', volume_size: 4 * MiB });
  const v1 = n1.driver.running(id)!;
  const first = pattern(MiB, 11);
  const second = pattern(MiB, 12);
  await v1.write(0, first);
  await n1.driver.create_snapshot({ volume_id: id, snapshot_id: 's1' });
  await waitFor('s1 in the backend', () => n1.driver.is_volume_synced_up_to_snapshot({ volume_id: id, snapshot_name: 's1' }));
  await v1.write(MiB, second);
  const tlog = await n1.driver.schedule_backend_sync({ volume_id: id });
  await v1.queue.idle();
  t.true(n1.driver.is_volume_synced_up_to_tlog({ volume_id: id, tlog_name: tlog }));
  t.deepEqual((await fsck(n2.backend, id)).problems, [], 'node 2 sees a complete volume in the backend');

  // Node 2 takes the volume over without node 1 knowing (as after a partition): registry first, then a backend restart.
  await n2.driver.registry.update(id, (r) => (r.node_id = 'node2'));
  await n2.driver.restart_object({ object_id: id });
  const v2 = n2.driver.running(id)!;
  t.true((await v2.read(0, MiB)).equals(first));
  t.true((await v2.read(MiB, MiB)).equals(second));
  t.deepEqual(n2.driver.list_snapshots({ volume_id: id }), ['s1']);

  // Node 1 still runs its copy and writes on: the first SCO it uploads is fenced, and the volume halts (here while
  // the write that filled the SCO is still going on).
  await v1.write(2 * MiB, pattern(MiB, 13)).catch(() => undefined);
  await n1.driver.schedule_backend_sync({ volume_id: id }).catch(() => undefined);
  await waitFor('node 1 halts its volume', () => v1.halted);
  t.regex(v1.haltReason ?? '', /owned by someone else|fenced/i);
  await t.throwsAsync(v1.write(0, Buffer.alloc(4096)), { message: /halted/ });

  // Nothing of node 1's changed the backend: node 2 restarts from it and reads what it had, then carries on.
  await n2.driver.restart_from_backend({ object_id: id });
  const again = n2.driver.running(id)!;
  t.true((await again.read(0, MiB)).equals(first));
  t.true((await again.read(MiB, MiB)).equals(second));
  t.true((await again.read(2 * MiB, MiB)).equals(Buffer.alloc(MiB)), "the stale owner's write is not in the backend");
  const third = pattern(MiB, 14);
  await again.write(3 * MiB, third);
  await n2.driver.create_snapshot({ volume_id: id, snapshot_id: 's2' });
  await waitFor('s2 in the backend', () => n2.driver.is_volume_synced_up_to_snapshot({ volume_id: id, snapshot_name: 's2' }));
  await n2.driver.restart_from_backend({ object_id: id });
  t.true((await n2.driver.running(id)!.read(3 * MiB, MiB)).equals(third));
  t.deepEqual(n2.driver.list_snapshots({ volume_id: id }), ['s1', 's2']);
  t.deepEqual((await fsck(n1.backend, id)).problems, []);
});

test('a clone on another node reads its parent through the nats backend', async (t) => {
  const { start } = await cluster(t);
  const n1 = await start('node1');
  const n2 = await start('node2');
  const parent = await n1.driver.create_volume({ target_path: '/parent.raw', volume_size: 2 * MiB });
  const data = pattern(2 * MiB, 21);
  await n1.driver.running(parent)!.write(0, data);
  await n1.driver.create_snapshot({ volume_id: parent, snapshot_id: 's1' });
  await waitFor('s1 in the backend', () => n1.driver.is_volume_synced_up_to_snapshot({ volume_id: parent, snapshot_name: 's1' }));
  await waitFor('node 2 sees the parent', () => n2.driver.registry.find(parent));
  const clone = await n2.driver.create_clone({ target_path: '/clone.raw', parent_volume_id: parent, parent_snapshot_id: 's1' });
  const c = n2.driver.running(clone)!;
  t.true((await c.read(0, 2 * MiB)).equals(data));
  t.true((await c.read(12345, 4096)).equals(data.subarray(12345, 12345 + 4096)), 'an unaligned ranged read of the parent');
  await c.write(4096, Buffer.alloc(4096, 7));
  t.true((await c.read(0, 3 * 4096)).equals(Buffer.concat([data.subarray(0, 4096), Buffer.alloc(4096, 7), data.subarray(8192, 12288)])));
  await n2.driver.unlink({ target_path: '/clone.raw' });
  t.false(await n1.backend.namespaceExists(clone), 'deleting the clone deleted its namespace');
});

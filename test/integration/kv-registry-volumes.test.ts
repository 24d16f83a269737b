import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { connect, type NatsConnection } from 'nats';
import { pino } from 'pino';
import { fsck } from '../../src/dataplane/backend/fsck.js';
import { LocalDirBackend } from '../../src/dataplane/backend/local-dir.js';
import { TEST_GEOMETRY } from '../../src/dataplane/common/geometry.js';
import { VolumeDriver } from '../../src/dataplane/driver/volume-driver.js';
import { KvRegistry } from '../../src/dataplane/registry/kv-registry.js';
import { ObjectStillHasChildrenError } from '../../src/errors.js';
import { waitFor } from '../helpers/eventually.js';
import { NatsServer } from '../helpers/nats-server.js';
import { pattern } from '../helpers/volume-harness.js';

const MiB = 1024 * 1024;

test('a volume created and snapshotted on node 1 is cloned by node 2, which lists both (shared registry and backend)', async (t) => {
  const server = await NatsServer.start();
  const dir = await mkdtemp(join(tmpdir(), 'ovs-kvreg-'));
  const vpool = randomUUID();
  const connections: NatsConnection[] = [];
  const started: Array<{ driver: VolumeDriver; registry: KvRegistry }> = [];
  const startNode = async (nodeId: string): Promise<VolumeDriver> => {
    const nc = await connect({ servers: server.url });
    connections.push(nc);
    const registry = new KvRegistry(nc.jetstream(), { vpool, nodeId });
    const driver = new VolumeDriver({
      vpool, nodeId, dataRoot: join(dir, nodeId), backend: new LocalDirBackend(join(dir, 'backend')),
      geometry: TEST_GEOMETRY, allowTinyScos: true, registry, log: pino({ level: process.env.OVS_TEST_LOG ?? 'silent' }),
    });
    await driver.start();
    started.push({ driver, registry });
    return driver;
  };
  t.teardown(async () => {
    for (const { driver, registry } of started) {
      await driver.stop();
      await registry.close();
    }
    for (const nc of connections) await nc.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const d1 = await startNode('node1');
  const d2 = await startNode('node2');
  const parent = await d1.create_volume({ target_path: '/parent.raw', volume_size: 2 * MiB });
  const data = pattern(MiB, 7);
  await d1.running(parent)!.write(0, data);
  await d1.create_snapshot({ volume_id: parent, snapshot_id: 's1' });
  await waitFor('s1 in the backend', () => d1.is_volume_synced_up_to_snapshot({ volume_id: parent, snapshot_name: 's1' }));

  await waitFor('node 2 sees the parent', () => d2.registry.find(parent));
  const clone = await d2.create_clone({ target_path: '/clone.raw', parent_volume_id: parent, parent_snapshot_id: 's1' });
  const cloneVolume = d2.running(clone)!;
  t.is(cloneVolume.size, 2 * MiB, 'the size comes from the parent in the backend');
  t.true((await cloneVolume.read(0, MiB)).equals(data), 'the clone reads the parent snapshot through the shared backend');
  t.deepEqual(d2.list_volumes().sort(), [clone, parent].sort());
  t.deepEqual(d2.list_volumes({ node_id: 'node2' }), [clone]);
  t.is(d2.info_volume({ volume_id: clone }).vrouter_id, 'node2');
  t.is(d2.info_volume({ volume_id: clone }).parent_volume_id, parent);

  await waitFor('node 1 sees the clone under its parent', () => d1.registry.find(parent)?.descendants[clone] === 's1');
  t.deepEqual(d1.list_volumes().sort(), [clone, parent].sort());
  await t.throwsAsync(d1.unlink({ target_path: '/parent.raw' }), { instanceOf: ObjectStillHasChildrenError });
  const tags = [d1.registry.find(parent)!.owner_tag, d1.registry.find(clone)!.owner_tag];
  t.not(tags[0], tags[1], 'owner tags are unique across the nodes');

  await d2.unlink({ target_path: '/clone.raw' });
  await waitFor('node 1 sees the clone gone', () => !d1.registry.find(clone) && Object.keys(d1.registry.find(parent)!.descendants).length === 0);
  await d1.running(parent)!.queue.idle();
  t.deepEqual((await fsck(new LocalDirBackend(join(dir, 'backend')), parent)).problems, []);

  // Node 1 restarts (new connection, new registry): it restarts the volumes the shared registry gives it, nothing else.
  const before = d1.registry.find(parent)!.owner_tag;
  await d1.stop();
  await started[0]!.registry.close();
  const again = await startNode('node1');
  t.deepEqual(again.list(), [parent]);
  t.true((await again.running(parent)!.read(0, MiB)).equals(data));
  t.true(again.registry.find(parent)!.owner_tag > before, 'a restart takes a new owner tag');
  t.deepEqual(d2.list(), []);
});

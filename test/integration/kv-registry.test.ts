import { randomUUID } from 'node:crypto';
import test from 'ava';
import { connect, type NatsConnection } from 'nats';
import type { Registration } from '../../src/dataplane/driver/registry.js';
import { KvRegistry } from '../../src/dataplane/registry/kv-registry.js';
import { encodeValue, registrationKey, registryBucketName } from '../../src/dataplane/registry/keys.js';
import { VolumeExistsError } from '../../src/errors.js';
import { waitFor } from '../helpers/eventually.js';
import { NatsServer } from '../helpers/nats-server.js';

let server: NatsServer;
const connections: NatsConnection[] = [];
const registries: KvRegistry[] = [];

test.before(async () => {
  server = await NatsServer.start();
});

test.after.always(async () => {
  for (const r of registries) await r.close();
  for (const nc of connections) await nc.close();
  await server?.stop();
});

/** The registry of one vPool as a node sees it: its own connection, its own mirror. */
async function node(vpool: string, nodeId: string): Promise<KvRegistry> {
  const nc = await connect({ servers: server.url });
  connections.push(nc);
  const r = new KvRegistry(nc.jetstream(), { vpool, nodeId });
  registries.push(r);
  await r.load();
  return r;
}

async function twoNodes(): Promise<[KvRegistry, KvRegistry, string]> {
  const vpool = randomUUID();
  return [await node(vpool, 'node1'), await node(vpool, 'node2'), vpool];
}

function reg(id: string, extra: Partial<Registration> = {}): Registration {
  return {
    object_id: id, namespace: id, node_id: 'node1', object_type: 'BASE', target_path: `/${id}.raw`,
    parent_volume: null, parent_snapshot: null, descendants: {}, owner_tag: 1, ...extra,
  };
}

test('a registration by one node is found by the other, by id, by path and in the list; so is its removal', async (t) => {
  const [a, b, vpool] = await twoNodes();
  t.is(a.bucket, registryBucketName(vpool));
  await a.add(reg('v1'));
  t.is(a.find('v1')?.object_id, 'v1', 'read-your-writes on the writer');
  await waitFor('node2 sees v1', () => b.find('v1'));
  t.is(b.findByPath('/v1.raw')?.object_id, 'v1');
  t.deepEqual(b.list().map((r) => r.object_id), ['v1']);
  await t.throwsAsync(b.add(reg('v1')), { instanceOf: VolumeExistsError });
  await b.update('v1', (r) => (r.object_type = 'TEMPLATE'));
  t.is(b.find('v1')?.object_type, 'TEMPLATE');
  await waitFor('node1 sees the update', () => a.find('v1')?.object_type === 'TEMPLATE');
  await b.remove('v1');
  await waitFor('node1 sees the removal', () => a.find('v1') === undefined);
  t.is(a.findByPath('/v1.raw'), undefined);
  await t.notThrowsAsync(a.remove('v1'), 'removing what is gone is a no-op');
  await t.notThrowsAsync(a.update('v1', () => t.fail('nothing to update')));
});

test('a node whose mirror lags still writes against the server: no update skipped, no duplicate created', async (t) => {
  const [a, b] = await twoNodes();
  await b.close(); // its watch stops, so its mirror misses everything from here on
  await a.add(reg('v1'));
  t.is(b.find('v1'), undefined);
  await b.update('v1', (r) => (r.owner_tag = 42));
  await waitFor("node1 sees node2's update", () => a.find('v1')?.owner_tag === 42);
  await t.throwsAsync(b.add(reg('v1')), { instanceOf: VolumeExistsError });
  await a.nextOwnerTag();
  t.is(await b.nextOwnerTag(), 2);
  await a.add(reg('clone', { parent_volume: 'v1', parent_snapshot: 's' }));
  await b.remove('clone');
  await waitFor('node1 sees the clone removed by node2', () => !a.find('clone') && Object.keys(a.find('v1')!.descendants).length === 0);
});

test("findFresh reads another node's write that the mirror has not seen (a move's new owner asked at once)", async (t) => {
  const [a, b] = await twoNodes();
  await a.add(reg('v2'));
  await waitFor('node2 sees v2', () => b.find('v2'));
  await b.close(); // from here its mirror lags for good
  await a.update('v2', (r) => (r.node_id = 'node2'));
  t.is(b.find('v2')?.node_id, 'node1', 'the mirror alone still names the old owner');
  t.is((await b.findFresh('v2'))?.node_id, 'node2');
  t.is(b.find('v2')?.node_id, 'node2', 'and the mirror holds the fresh copy now');
});

test('concurrent nextOwnerTag from two nodes hands out 100 distinct, increasing tags', async (t) => {
  const [a, b] = await twoNodes();
  const draw = (r: KvRegistry): Promise<number[]> => Promise.all(Array.from({ length: 50 }, () => r.nextOwnerTag()));
  const [fromA, fromB] = await Promise.all([draw(a), draw(b)]);
  const all = [...fromA, ...fromB];
  t.is(new Set(all).size, 100);
  t.deepEqual([...all].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i + 1));
  t.deepEqual(fromA, [...fromA].sort((x, y) => x - y), 'one node sees its own tags increase');
  t.true((await a.nextOwnerTag()) > 100);
});

test('concurrent updates of one registration from two nodes lose no change', async (t) => {
  const [a, b] = await twoNodes();
  await a.add(reg('parent'));
  await waitFor('node2 sees the parent', () => b.find('parent'));
  const addMine = (r: KvRegistry, prefix: string): Promise<unknown> =>
    Promise.all(Array.from({ length: 20 }, (_, i) => r.update('parent', (p) => (p.descendants[`${prefix}${i}`] = `s${i}`))));
  await Promise.all([addMine(a, 'a'), addMine(b, 'b')]);
  for (const r of [a, b]) {
    const descendants = await waitFor('40 descendants', () => {
      const d = r.find('parent')?.descendants;
      return d && Object.keys(d).length === 40 ? d : undefined;
    });
    for (let i = 0; i < 20; i++) t.true(`a${i}` in descendants && `b${i}` in descendants);
  }
});

test("adding a clone lists it in its parent's descendants; removing it drops it", async (t) => {
  const [a, b] = await twoNodes();
  await a.add(reg('parent'));
  await waitFor('node2 sees the parent', () => b.find('parent'));
  await b.add(reg('clone', { node_id: 'node2', parent_volume: 'parent', parent_snapshot: 'snap1' }));
  t.deepEqual(b.find('parent')?.descendants, { clone: 'snap1' });
  await waitFor('node1 sees the clone in the parent', () => a.find('parent')?.descendants.clone === 'snap1' && a.find('clone'));
  await a.remove('clone');
  t.deepEqual(a.find('parent')?.descendants, {});
  await waitFor('node2 sees the clone gone', () => b.find('clone') === undefined && Object.keys(b.find('parent')!.descendants).length === 0);
  t.deepEqual(await a.repairDescendants(), { unlisted: [], stale: [] }, 'nothing to repair after complete steps');
});

test('repairDescendants fixes what a crash between the two writes of add or remove left', async (t) => {
  const [a, b, vpool] = await twoNodes();
  await a.add(reg('parent'));
  await a.add(reg('listed', { parent_volume: 'parent', parent_snapshot: 's0' }));
  // A crash in add: the clone's key is written, its parent's descendants are not.
  const nc = await connect({ servers: server.url });
  connections.push(nc);
  const kv = await nc.jetstream().views.kv(registryBucketName(vpool));
  await kv.create(registrationKey('unlisted'), encodeValue(reg('unlisted', { parent_volume: 'parent', parent_snapshot: 's1' })));
  // A crash in remove: the clone's key is gone, its parent still lists it.
  await a.update('parent', (p) => (p.descendants.removed = 's2'));
  for (const r of [a, b]) await waitFor('both nodes see both', () => r.find('unlisted') && r.find('parent')?.descendants.removed);

  // Both nodes run the checker at once: each problem is fixed, and reported, exactly once.
  const [fromA, fromB] = await Promise.all([a.repairDescendants(), b.repairDescendants()]);
  t.deepEqual([...fromA.unlisted, ...fromB.unlisted], [{ parent: 'parent', clone: 'unlisted', snapshot: 's1' }]);
  t.deepEqual([...fromA.stale, ...fromB.stale], [{ parent: 'parent', clone: 'removed' }]);
  t.deepEqual(b.find('parent')?.descendants, { listed: 's0', unlisted: 's1' });
  const repaired = await waitFor('node1 sees the repair', () => {
    const d = a.find('parent')?.descendants;
    return d && !('removed' in d) && d.unlisted === 's1' ? d : undefined;
  });
  t.deepEqual(repaired, { listed: 's0', unlisted: 's1' });
  t.deepEqual(await a.repairDescendants(), { unlisted: [], stale: [] });
});

test('node states: each node joins ONLINE on load; a state set by one node is seen by the other; concurrent sets all land', async (t) => {
  const [a, b, vpool] = await twoNodes();
  await waitFor('node1 sees node2 joined', () => a.nodeStates().node2);
  t.deepEqual(a.nodeStates(), { node1: 'ONLINE', node2: 'ONLINE' });
  await b.setNodeState('node1', 'OFFLINE');
  t.is(b.nodeStates().node1, 'OFFLINE');
  await waitFor('node1 sees itself offline', () => a.nodeStates().node1 === 'OFFLINE');
  await Promise.all([
    ...Array.from({ length: 5 }, (_, i) => a.setNodeState(`extra-a${i}`, 'OFFLINE')),
    ...Array.from({ length: 5 }, (_, i) => b.setNodeState(`extra-b${i}`, 'ONLINE')),
  ]);
  const states = await waitFor('12 nodes on node1', () => {
    const s = a.nodeStates();
    return Object.keys(s).length === 12 ? s : undefined;
  });
  t.is(states['extra-a3'], 'OFFLINE');
  t.is(states['extra-b3'], 'ONLINE');
  t.is(states.node1, 'OFFLINE', 'loading again does not bring an offline node back');
  const again = await node(vpool, 'node1');
  t.is(again.nodeStates().node1, 'OFFLINE');
});

test('after a NATS restart the mirror follows other nodes again (the watch recovers by missed heartbeats, ~15 s)', async (t) => {
  const own = await NatsServer.start();
  const vpool = randomUUID();
  const open = async (nodeId: string): Promise<KvRegistry> => {
    const nc = await connect({ servers: own.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    connections.push(nc);
    const r = new KvRegistry(nc.jetstream(), { vpool, nodeId, rewatchMs: 100 });
    registries.push(r);
    await r.load();
    return r;
  };
  const a = await open('node1');
  const b = await open('node2');
  await a.add(reg('before'));
  await waitFor('node2 sees the first volume', () => b.find('before'));
  await own.stop(true);
  const restarted = await NatsServer.startAt(own);
  t.teardown(() => restarted.stop());
  // A write whose reply was lost to the restart may have landed: the retry then finds it there.
  await waitFor('node1 writes again', () => a.add(reg('after')).then(() => true, (e: unknown) => e instanceof VolumeExistsError), 20_000, 200);
  await waitFor('node2 sees the volume written after the restart', () => b.find('after'), 40_000);
  t.truthy(b.find('before'));
});

import test from 'ava';
import { randomBytes } from 'node:crypto';
import { connect, type JetStreamClient, type NatsConnection } from 'nats';
import { FencedError, OWNER_TAG_OBJECT } from '../../src/dataplane/backend/backend.js';
import { NatsObjectBackend } from '../../src/dataplane/backend/nats-object.js';
import { NatsServer } from '../helpers/nats-server.js';
import { backendContract, ownerDoc } from './backend-contract.js';

let server: NatsServer;
const connections: NatsConnection[] = [];
test.before(async () => {
  server = await NatsServer.start();
});
test.after.always(async () => {
  for (const nc of connections) await nc.close();
  await server?.stop();
});

async function connection(): Promise<NatsConnection> {
  const nc = await connect({ servers: server.url });
  connections.push(nc);
  return nc;
}

/** A bucket of its own per test; `chunkSize` small so that ordinary test objects span several chunks. */
async function fresh(opts: { chunkSize?: number; cacheBytes?: number } = {}): Promise<NatsObjectBackend> {
  const b = new NatsObjectBackend((await connection()).jetstream(), { bucket: `t_${randomBytes(6).toString('hex')}`, chunkSize: opts.chunkSize ?? 1000, cacheBytes: opts.cacheBytes });
  await b.createNamespace('ns1');
  return b;
}

/** Another node: its own connection to the same bucket. */
async function peer(b: NatsObjectBackend, js?: JetStreamClient): Promise<NatsObjectBackend> {
  return new NatsObjectBackend(js ?? (await connection()).jetstream(), b.o);
}

backendContract('nats', { fresh: () => fresh(), peer: (b) => peer(b as NatsObjectBackend) });

test('objects are Object Store objects: nats.js reads them by their unique name', async (t) => {
  const b = await fresh();
  const data = randomBytes(5000);
  await b.put('ns1', 'tlog_1', data);
  const os = await (await connection()).jetstream().views.os(b.o.bucket);
  const listed = (await os.list()).filter((o) => !o.deleted);
  t.is(listed.length, 1);
  t.regex(listed[0]!.name, /^ns1\/tlog_1@/);
  t.is(listed[0]!.size, 5000);
  t.deepEqual(Buffer.from((await os.getBlob(listed[0]!.name))!), data, 'chunks, size and digest as nats.js writes them');
});

test('ranged reads across chunk boundaries return the right bytes, with or without the chunk cache', async (t) => {
  for (const cacheBytes of [0, 1 << 20]) {
    const b = await fresh({ chunkSize: 333, cacheBytes });
    const data = randomBytes(10_000);
    await b.put('ns1', 'sco', data);
    for (const [offset, length] of [[0, 1], [332, 2], [333, 333], [1000, 5000], [9999, 10], [0, 10_000], [5000, 0]] as const) {
      t.deepEqual(await b.getRange('ns1', 'sco', offset, length), data.subarray(offset, offset + length), `${offset}+${length}`);
    }
    await b.put('ns1', 'sco', randomBytes(10_000), { overwrite: true });
    const again = await b.get('ns1', 'sco');
    t.deepEqual(await b.getRange('ns1', 'sco', 1000, 5000), again.subarray(1000, 6000), 'a replaced object is not served from the cache');
  }
});

test('replaced and deleted objects are purged from the Object Store; deleting the namespace empties both streams', async (t) => {
  const b = await fresh();
  const jsm = await (await connection()).jetstreamManager();
  const tok = await b.claim('ns1', ownerDoc('A'));
  await b.put('ns1', 'a', randomBytes(2500), { fence: tok });
  await b.put('ns1', 'a', randomBytes(2500), { fence: tok, overwrite: true });
  await b.put('ns1', 'b', randomBytes(10));
  await b.delete('ns1', 'b', { fence: tok });
  const os = (await jsm.streams.info(`OBJ_${b.o.bucket}`)).state;
  t.is(os.messages, 3 + 1, 'the three chunks and the meta message of the current `a` only');
  await b.deleteNamespace('ns1');
  t.is((await jsm.streams.info(`OBJ_${b.o.bucket}`)).state.messages, 0);
  t.is((await jsm.streams.info(`KV_${b.o.bucket}`)).state.messages, 0);
});

/**
 * A JetStream client whose publishes matching `gated` wait for `open()`: it holds a write between the fence check
 * and the index compare-and-set, the window no NATS primitive closes.
 */
function gatedClient(js: JetStreamClient, gated: (subject: string) => boolean): { js: JetStreamClient; reached: Promise<void>; open: () => void } {
  let open!: () => void;
  let reach!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const reached = new Promise<void>((r) => (reach = r));
  const proxy = new Proxy(js, {
    get(target, prop, receiver) {
      if (prop !== 'publish') return Reflect.get(target, prop, receiver) as unknown;
      return async (subject: string, ...rest: unknown[]) => {
        if (gated(subject)) {
          reach();
          await gate;
        }
        return (target.publish as (...args: unknown[]) => unknown).call(receiver, subject, ...rest);
      };
    },
  });
  return { js: proxy, reached, open };
}

test('a fenced put whose fence check passed before a newer claim is void: nobody ever reads it, and it gets FencedError', async (t) => {
  const b = await fresh();
  const tokA = await b.claim('ns1', ownerDoc('A'));
  await b.put('ns1', 'snapshots.json', Buffer.from('A1'), { fence: tokA });
  const g = gatedClient((await connection()).jetstream(), (s) => s.includes('.o.ns1.'));
  const a = await peer(b, g.js);
  const put = a.put('ns1', 'snapshots.json', Buffer.from('A2 after the claim'), { fence: tokA, overwrite: true });
  await g.reached; // checked the fence and uploaded: about to publish to the index
  const nodeB = await peer(b);
  const tokB = await nodeB.claim('ns1', ownerDoc('B'));
  g.open();
  await t.throwsAsync(put, { instanceOf: FencedError });
  const raw = await (await (await connection()).jetstream().views.kv(b.o.bucket)).get('o.ns1.snapshots=json');
  t.is(raw?.json<{ c: number }>().c, Number(tokA.etag.split('-')[0]), "A's write did reach the index, stamped with A's claim");
  t.is((await nodeB.get('ns1', 'snapshots.json')).toString(), 'A1');
  t.is((await (await peer(b)).get('ns1', 'snapshots.json')).toString(), 'A1', 'a client that never saw the race reads the same');
  // Two claims later the void write is judged by the recorded successor of A's claim, not by the head.
  await (await peer(b)).claim('ns1', ownerDoc('C'));
  t.is((await (await peer(b)).get('ns1', 'snapshots.json')).toString(), 'A1');
  t.deepEqual(await (await peer(b)).list('ns1'), [OWNER_TAG_OBJECT, 'snapshots.json']);
  await t.throwsAsync(nodeB.put('ns1', 'snapshots.json', Buffer.from('B1'), { fence: tokB, overwrite: true }), { instanceOf: FencedError });
});

test('a fenced delete whose fence check passed before a newer claim is void too', async (t) => {
  const b = await fresh();
  const tokA = await b.claim('ns1', ownerDoc('A'));
  await b.put('ns1', '00_00000001_00', Buffer.from('SCO'), { fence: tokA });
  const g = gatedClient((await connection()).jetstream(), (s) => s.includes('.o.ns1.'));
  const a = await peer(b, g.js);
  const del = a.delete('ns1', '00_00000001_00', { fence: tokA });
  await g.reached; // about to publish the deletion to the index
  const nodeB = await peer(b);
  const tokB = await nodeB.claim('ns1', ownerDoc('B'));
  g.open();
  await t.throwsAsync(del, { instanceOf: FencedError });
  t.is((await nodeB.get('ns1', '00_00000001_00')).toString(), 'SCO');
  // The new owner replaces what the void deletion left in the index like any other state.
  await nodeB.put('ns1', '00_00000001_00', Buffer.from('SCO of B'), { fence: tokB, overwrite: true });
  t.is((await b.get('ns1', '00_00000001_00')).toString(), 'SCO of B');
  await nodeB.delete('ns1', '00_00000001_00', { fence: tokB });
  t.false(await b.exists('ns1', '00_00000001_00'));
});

test('a write confirmed before the next claim stands', async (t) => {
  const b = await fresh();
  const tokA = await b.claim('ns1', ownerDoc('A'));
  await b.put('ns1', 'x', Buffer.from('A'), { fence: tokA });
  await (await peer(b)).claim('ns1', ownerDoc('B'));
  await (await peer(b)).claim('ns1', ownerDoc('C'));
  t.is((await (await peer(b)).get('ns1', 'x')).toString(), 'A');
});

test('chunks are no larger than the server takes', async (t) => {
  const small = await NatsServer.start({ maxPayload: 64 * 1024 });
  const nc = await connect({ servers: small.url });
  t.teardown(async () => {
    await nc.close();
    await small.stop();
  });
  const b = new NatsObjectBackend(nc.jetstream(), { bucket: 'small' });
  await b.createNamespace('ns1');
  const data = randomBytes(300 * 1024);
  await b.put('ns1', 'sco', data);
  t.deepEqual(await b.get('ns1', 'sco'), data);
  t.deepEqual(await b.getRange('ns1', 'sco', 100_000, 100_000), data.subarray(100_000, 200_000));
});

import test, { type ExecutionContext } from 'ava';
import type { NbdForwarding, NbdResolution } from '../../src/dataplane/nbd/export.js';
import { NbdServer } from '../../src/dataplane/nbd/server.js';
import { MapExports } from '../helpers/nbd-file-volume.js';
import { MemoryVolume } from '../helpers/nbd-memory-volume.js';
import { RawClient, attach, infoData, option, readOptionReply, readReply, request } from '../helpers/nbd-raw-client.js';

const MiB = 1024 * 1024;
const CMD = { READ: 0, WRITE: 1 } as const;
const REP = { ACK: 1, ERR_UNKNOWN: 0x80000006 } as const;

class NamedVolume extends MemoryVolume {
  readonly id = 'vol-id';
}

/** A forwarding table as a node keeps it: export name → edge port of its owner (127.0.0.1). */
class Table implements NbdForwarding {
  readonly calls: Array<{ name: string; forward: boolean }> = [];
  constructor(readonly owners: Map<string, number>) {}
  resolve(name: string, opts: { forward: boolean }): Promise<NbdResolution> {
    this.calls.push({ name, forward: opts.forward });
    const port = this.owners.get(name);
    return Promise.resolve(port !== undefined && opts.forward ? { target: { host: '127.0.0.1', port, node: `node@${port}` } } : undefined);
  }
}

async function serve(t: ExecutionContext, volumes: Record<string, MemoryVolume>, forwarding: Table, forwardRetryMs = 0): Promise<{ server: NbdServer; port: number }> {
  const server = new NbdServer(new MapExports(Object.entries(volumes)), { forwarding, disconnectWhenHalted: true, forwardRetryMs });
  const port = await server.listen(0, '127.0.0.1');
  t.teardown(() => server.close());
  return { server, port };
}

async function client(t: ExecutionContext, port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  t.teardown(() => c.destroy());
  return c;
}

async function twoNodes(t: ExecutionContext): Promise<{ vol: MemoryVolume; owner: NbdServer; ownerTable: Table; edgeTable: Table; edgePort: number; ownerPort: number }> {
  const vol = new NamedVolume(4 * MiB);
  const ownerTable = new Table(new Map());
  const { server: owner, port: ownerPort } = await serve(t, { vol }, ownerTable);
  const edgeTable = new Table(new Map([['vol', ownerPort]]));
  const { port: edgePort } = await serve(t, {}, edgeTable);
  return { vol, owner, ownerTable, edgeTable, edgePort, ownerPort };
}

test('a client of a node that does not serve the export is relayed to the owner: its size, its bytes', async (t) => {
  const { vol, edgePort, edgeTable, ownerTable } = await twoNodes(t);
  vol.data.fill(0x42, 0, 8192);
  const c = await client(t, edgePort);
  t.is((await attach(c, 'vol')).size, 4 * MiB);
  await c.write(request(CMD.READ, 1, 0, 4096));
  t.deepEqual(await readReply(c), { error: 0, cookie: 1 });
  t.true((await c.read(4096)).equals(Buffer.alloc(4096, 0x42)));
  const payload = Buffer.alloc(65536, 0x77);
  await c.write(request(CMD.WRITE, 2, MiB, payload.length, { data: payload }));
  t.deepEqual(await readReply(c), { error: 0, cookie: 2 });
  t.true(vol.data.subarray(MiB, MiB + 65536).equals(payload), 'the write landed at the owner');
  t.deepEqual(edgeTable.calls, [{ name: 'vol', forward: true }]);
  t.deepEqual(ownerTable.calls, [], 'the owner serves it itself');
});

test('loop guard: a forwarded connection is never forwarded again (a node that names itself the owner refuses)', async (t) => {
  const table = new Table(new Map());
  const { port } = await serve(t, {}, table);
  table.owners.set('vol', port); // a stale table pointing at this very node
  const c = await client(t, port);
  await c.read(18);
  const cf = Buffer.alloc(4);
  cf.writeUInt32BE(3, 0);
  await c.write(Buffer.concat([cf, option(7, infoData('vol'))]));
  const r = await readOptionReply(c);
  t.is(r.type, REP.ERR_UNKNOWN, 'the same typed refusal as an unknown export');
  t.deepEqual(table.calls, [{ name: 'vol', forward: true }, { name: 'vol', forward: false }]);
  // The connection negotiates on: an unknown name gets the same answer.
  await c.write(option(7, infoData('nope')));
  t.is((await readOptionReply(c)).type, REP.ERR_UNKNOWN);
});

test('a forward the named owner refuses (the volume moved on meanwhile) asks again and reaches the new owner', async (t) => {
  const { edgePort, edgeTable, ownerPort } = await twoNodes(t);
  const { port: formerPort } = await serve(t, {}, new Table(new Map()));
  edgeTable.owners.set('vol', formerPort);
  const { port: retryingPort } = await serve(t, {}, edgeTable, 10_000);
  // The first answer names the former owner, which refuses; the registry then names the new one.
  const original = edgeTable.resolve.bind(edgeTable);
  edgeTable.resolve = (name, opts) => {
    if (edgeTable.calls.length === 1) edgeTable.owners.set('vol', ownerPort);
    return original(name, opts);
  };
  t.not(retryingPort, edgePort);
  const c = await client(t, retryingPort);
  t.is((await attach(c, 'vol')).size, 4 * MiB);
  t.deepEqual(edgeTable.calls.map((x) => x.forward), [true, true]);
});

test('garbage after GO on a relayed connection closes it; the owner keeps serving', async (t) => {
  const { edgePort, ownerPort } = await twoNodes(t);
  const c = await client(t, edgePort);
  await attach(c, 'vol');
  await c.write(Buffer.alloc(4096, 0xee));
  t.true(await c.expectClose());
  const d = await client(t, ownerPort);
  await attach(d, 'vol');
  await d.write(request(CMD.READ, 1, 0, 512));
  t.is((await readReply(d)).error, 0);
});

test('the owner dropping the volume (moved away) closes the relayed client too', async (t) => {
  const { edgePort, owner } = await twoNodes(t);
  const c = await client(t, edgePort);
  await attach(c, 'vol');
  await c.write(request(CMD.READ, 1, 0, 512));
  t.is((await readReply(c)).error, 0);
  await c.read(512);
  t.is(owner.dropVolume('vol-id'), 1);
  t.true(await c.expectClose());
});

test('disconnectWhenHalted: a request to a halted volume closes the connection unanswered', async (t) => {
  const vol = new MemoryVolume(MiB);
  const { port } = await serve(t, { vol }, new Table(new Map()));
  const c = await client(t, port);
  await attach(c, 'vol');
  vol.halted = true;
  await c.write(request(CMD.WRITE, 1, 0, 512, { data: Buffer.alloc(512, 1) }));
  t.true(await c.expectClose(), 'no ESHUTDOWN reply: a reconnecting client retries the write elsewhere');
});

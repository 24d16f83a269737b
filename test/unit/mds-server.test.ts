import test from 'ava';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { pino } from 'pino';
import { LocalDirBackend } from '../../src/dataplane/backend/local-dir.js';
import { PAGE_BYTES } from '../../src/dataplane/metadata/page-table.js';
import { mdsClient, type MdsClient } from '../../src/mds/client.js';
import { MdsNatsService } from '../../src/mds/nats-service.js';
import { MdsServer } from '../../src/mds/server.js';
import { decodeMessage, encodeMessage, MAX_PAGES_PER_MESSAGE, mdsSubject } from '../../src/mds/wire.js';
import { faults } from '../../src/testmode/faults.js';
import { NatsServer } from '../helpers/nats-server.js';
import { pattern } from '../helpers/volume-harness.js';

// An MDS service reached only over a real NATS server (never registered in process).
const ADDRESS = '10.9.9.9:26400';
const log = pino({ level: process.env.OVS_TEST_LOG ?? 'silent' });
let nats: NatsServer;
let nc: NatsConnection;
let dir: string;
let server: MdsServer;
let service: MdsNatsService;
let client: MdsClient;

test.before(async () => {
  nats = await NatsServer.start();
  nc = await connect({ servers: nats.url });
  dir = await mkdtemp(join(tmpdir(), 'ovs-mds-server-'));
  server = new MdsServer({ address: ADDRESS, dir: join(dir, 'tables'), backend: new LocalDirBackend(join(dir, 'backend')), log, pollMs: 3_600_000 });
  await server.start();
  service = new MdsNatsService(server, nc, log);
  service.start();
  client = mdsClient(ADDRESS, nc, 2_000);
});

test.after.always(async () => {
  service?.stop();
  await server?.stop();
  await nc?.close();
  await nats?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function restartServer(): Promise<void> {
  service.stop();
  await server.stop();
  server = new MdsServer({ address: ADDRESS, dir: join(dir, 'tables'), backend: new LocalDirBackend(join(dir, 'backend')), log, pollMs: 3_600_000 });
  await server.start();
  service = new MdsNatsService(server, nc, log);
  service.start();
}

/** A raw request: whatever bytes; the decoded reply head. */
async function raw(data: Uint8Array): Promise<Record<string, unknown>> {
  const reply = await nc.request(mdsSubject(ADDRESS), data, { timeout: 2_000 });
  return decodeMessage(reply.data).head;
}

function errorType(head: Record<string, unknown>): unknown {
  return (head.error as { type?: unknown } | undefined)?.type;
}

const typeOf = (p: Promise<unknown>): Promise<unknown> => p.then(() => 'ok', (e: { type?: string; message?: string }) => e.type ?? e.message);

test.serial('namespace names with path tricks are refused and touch nothing outside the service', async (t) => {
  await mkdir(join(dir, 'victim'), { recursive: true });
  for (const ns of ['../x', '..', '.', 'a/b', '/etc', '', '.hidden', '../victim', 'a\u0000b', 'x'.repeat(200), 'a b']) {
    t.is(await typeOf(client.create_namespace(ns)), 'BAD_REQUEST', JSON.stringify(ns));
  }
  t.deepEqual(await client.list_namespaces(), []);
  t.deepEqual(await readdir(join(dir, 'tables')), []);
  t.deepEqual((await readdir(dir)).filter((n) => n !== 'backend').sort(), ['tables', 'victim'], 'nothing made next to the tables');
  // Other operations look a name up among the tables: unknown, whatever it says.
  t.is(await typeOf(client.get_role('../x')), 'MDS_NAMESPACE_NOT_FOUND');
  t.is(await typeOf(client.catch_up('../victim', false)), 'MDS_NAMESPACE_NOT_FOUND');
  t.is(await typeOf(client.remove_namespace('../victim')), 'ok');
  t.true((await stat(join(dir, 'victim'))).isDirectory(), 'remove_namespace("../victim") removed nothing');
});

test.serial('garbage messages get typed error replies and the service keeps serving', async (t) => {
  const head = (h: unknown): Buffer => Buffer.from(encodeMessage(h));
  const lengthOnly = Buffer.alloc(4);
  lengthOnly.writeUInt32BE(1_000_000);
  const notJson = Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('{x}')]);
  const garbage: Array<[string, Uint8Array, string]> = [
    ['empty', new Uint8Array(0), 'BAD_REQUEST'],
    ['short', Buffer.from([1, 2]), 'BAD_REQUEST'],
    ['head past the end', lengthOnly, 'BAD_REQUEST'],
    ['head not JSON', notJson, 'BAD_REQUEST'],
    ['head a list', head([1, 2]), 'BAD_REQUEST'],
    ['head null', head(null), 'BAD_REQUEST'],
    ['unknown op', head({ op: 'drop_all_tables' }), 'BAD_REQUEST'],
    ['no op', head({ ns: 'a' }), 'BAD_REQUEST'],
    ['partial page', Buffer.concat([head({ op: 'multiset', ns: 'a', owner_tag: 1, pages: [0] }), Buffer.alloc(100)]), 'BAD_REQUEST'],
    ['pages not numbers', head({ op: 'multiget', ns: 'a', pages: ['0'] }), 'BAD_REQUEST'],
    ['negative page', head({ op: 'multiget', ns: 'a', pages: [-1] }), 'BAD_REQUEST'],
    ['fractional page', head({ op: 'multiget', ns: 'a', pages: [1.5] }), 'BAD_REQUEST'],
    ['pages not a list', head({ op: 'multiget', ns: 'a', pages: { 0: 1 } }), 'BAD_REQUEST'],
    ['multiset count mismatch', Buffer.concat([head({ op: 'multiset', ns: 'a', owner_tag: 1, pages: [0, 1] }), Buffer.alloc(PAGE_BYTES)]), 'BAD_REQUEST'],
    ['bad role', head({ op: 'set_role', ns: 'a', role: 'KING' }), 'BAD_REQUEST'],
    ['ns not a string', head({ op: 'get_role', ns: { $ne: 1 } }), 'MDS_NAMESPACE_NOT_FOUND'],
  ];
  for (const [what, data, type] of garbage) t.is(errorType(await raw(data)), type, what);
  // A request without a reply subject is dropped quietly.
  nc.publish(mdsSubject(ADDRESS), new Uint8Array([9, 9, 9]));

  await client.create_namespace('vol-after-garbage');
  t.deepEqual(await client.get_role('vol-after-garbage'), { role: 'SLAVE', owner_tag: 0 });
  t.true((await client.list_namespaces()).includes('vol-after-garbage'));
});

test.serial('multiget: more than 128 pages in one message is refused; the client splits larger reads', async (t) => {
  const ns = 'vol-multiget';
  await client.create_namespace(ns);
  await client.set_role(ns, 'MASTER', 7);
  await client.multiset(ns, 7, new Map([[3, pattern(PAGE_BYTES, 1)], [200, pattern(PAGE_BYTES, 2)]]), { corkId: 'c1', scrubId: 's1' });
  const upTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
  t.is(errorType(await raw(encodeMessage({ op: 'multiget', ns, pages: upTo(MAX_PAGES_PER_MESSAGE + 1) }))), 'BAD_REQUEST');
  const ok = await nc.request(mdsSubject(ADDRESS), encodeMessage({ op: 'multiget', ns, pages: upTo(MAX_PAGES_PER_MESSAGE) }), { timeout: 2_000 });
  t.is(decodeMessage(ok.data).pages.length, MAX_PAGES_PER_MESSAGE);

  const pages = await client.multiget(ns, upTo(300));
  t.is(pages.length, 300);
  t.true(pages[3]!.equals(pattern(PAGE_BYTES, 1)) && pages[200]!.equals(pattern(PAGE_BYTES, 2)));
  t.true(pages[0]!.every((b) => b === 0), 'a hole reads as a zero page');
  t.deepEqual(await client.page_numbers(ns), [3, 200]);

  // A multiset larger than one message goes in chunks; the cork comes with the last one.
  const many = new Map(upTo(300).map((p) => [p, pattern(PAGE_BYTES, p + 10)] as const));
  await client.multiset(ns, 7, many, { corkId: 'c2', scrubId: 's1' }, true);
  t.deepEqual(await client.page_numbers(ns), upTo(300));
  t.like(await client.get_table_meta(ns), { corkId: 'c2', scrubId: 's1' });
  t.true((await client.multiget(ns, [299]))[0]!.equals(pattern(PAGE_BYTES, 309)));
});

test.serial('a page number no volume has is refused without breaking the table (it used to wrap onto page 0 on disk, or stop every later barrier)', async (t) => {
  const ns = 'vol-huge-page';
  await client.create_namespace(ns);
  await client.set_role(ns, 'MASTER', 9);
  await client.multiset(ns, 9, new Map([[0, pattern(PAGE_BYTES, 1)]]), { corkId: 'c1', scrubId: 's' });
  for (const p of [2 ** 52, 2 ** 30]) {
    t.is(await typeOf(client.multiset(ns, 9, new Map([[p, pattern(PAGE_BYTES, 2)]]), { corkId: 'c2', scrubId: 's' })), 'BAD_REQUEST', `page ${p}`);
  }
  t.is(await typeOf(server.multiset({ ns, owner_tag: 9, pages: new Map([[2, Buffer.alloc(10, 1)]]) })), 'BAD_REQUEST', 'a short page');
  await client.multiset(ns, 9, new Map([[1, pattern(PAGE_BYTES, 3)]]), { corkId: 'c3', scrubId: 's' });
  t.deepEqual(await client.page_numbers(ns), [0, 1]);
  t.like(await client.get_table_meta(ns), { corkId: 'c3' });
  await restartServer();
  const [p0, p1] = await client.multiget(ns, [0, 1]);
  t.true(p0!.equals(pattern(PAGE_BYTES, 1)) && p1!.equals(pattern(PAGE_BYTES, 3)), 'pages on disk as pushed');
  t.deepEqual(await client.page_numbers(ns), [0, 1]);
});

test.serial('roles and tables survive a restart of the service; an unresponsive service is MDS_UNAVAILABLE to its callers', async (t) => {
  const ns = 'vol-restart';
  await client.create_namespace(ns);
  await client.set_role(ns, 'MASTER', 11);
  await client.multiset(ns, 11, new Map([[5, pattern(PAGE_BYTES, 5)]]), { corkId: 'c9', scrubId: 's9' });
  await restartServer();
  t.deepEqual(await client.get_role(ns), { role: 'MASTER', owner_tag: 11 });
  t.like(await client.get_table_meta(ns), { corkId: 'c9', scrubId: 's9' });
  t.true((await client.multiget(ns, [5]))[0]!.equals(pattern(PAGE_BYTES, 5)));

  faults.enabled = true;
  faults.arm({ point: 'mds.unresponsive', match: ADDRESS });
  try {
    t.is(await typeOf(mdsClient(ADDRESS, nc, 200).get_role(ns)), 'MDS_UNAVAILABLE');
  } finally {
    faults.clear();
  }
  t.deepEqual(await client.get_role(ns), { role: 'MASTER', owner_tag: 11 });
});

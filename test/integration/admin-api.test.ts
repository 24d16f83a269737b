import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { NatsConnection } from 'nats';
import type { Agent } from '../../src/agent.js';
import { connectClient, request } from '../../src/client.js';
import { OvsError } from '../../src/errors.js';
import { startAgent } from '../helpers/in-process-agent.js';
import { NatsServer } from '../helpers/nats-server.js';

let server: NatsServer;
let agent: Agent;
let nc: NatsConnection;
let me: string;
let dataDirOfTest: string | undefined;
const NAME = `sr-${randomUUID().slice(0, 8)}`;
const IP = '127.0.77.7';

type Obj = Record<string, unknown> & { guid: string };

async function failure(p: Promise<unknown>): Promise<OvsError> {
  try {
    throw new Error(`expected a typed error, got ${JSON.stringify(await p)}`);
  } catch (e) {
    if (e instanceof OvsError) return e;
    throw e;
  }
}

const list = (type: string, filter?: Record<string, unknown>): Promise<Obj[]> => request(nc, `ovs.model.${type}.list`, filter ? { filter } : {});
const get = (type: string, guid: string): Promise<Obj> => request(nc, `ovs.model.${type}.get`, { guid });
const cfg = <T = unknown>(op: 'get' | 'set' | 'list', params: Record<string, unknown>): Promise<T> => request<T>(nc, `ovs.config.${op}`, params);

test.before(async () => {
  server = await NatsServer.start();
  // Our own data dir: it must outlive the first agent for the restart test.
  dataDirOfTest = await mkdtemp(join(tmpdir(), 'ovs-admin-'));
  agent = await startAgent(server.url, { dataDir: dataDirOfTest, name: NAME, ip: IP, paths: { mountRoot: dataDirOfTest } });
  me = agent.storagerouterGuid;
  nc = await connectClient(server.url);
  await request(nc, 'ovs.task.disk.sync_with_reality', { storagerouter_guid: me });
});

test.after.always(async () => {
  await nc?.close();
  await agent?.stop();
  await server?.stop();
  if (dataDirOfTest) await rm(dataDirOfTest, { recursive: true, force: true });
});

test.serial('model list, with and without a filter', async (t) => {
  const all = await list('storagerouter');
  t.deepEqual(all.map((o) => o.guid), [me]);
  t.like(all[0], { name: NAME, ip: IP, node_type: 'MASTER' });
  t.deepEqual((await list('storagerouter', { name: NAME })).map((o) => o.guid), [me]);
  t.deepEqual(await list('storagerouter', { name: 'no-such-name' }), []);
  t.deepEqual(await list('storagerouter', { name: NAME, ip: '10.9.9.9' }), [], 'every filter condition applies');

  const disks = await list('disk');
  t.true(disks.length > 0);
  t.deepEqual((await list('disk', { storagerouter_guid: me })).length, disks.length);
  t.deepEqual(await list('disk', { storagerouter_guid: randomUUID() }), []);
  const one = disks[0]!;
  t.deepEqual((await list('disk', { name: one.name as string })).map((d) => d.guid), [one.guid]);
  t.deepEqual(await list('vpool'), []);
  const types = (await list('servicetype')).map((s) => s.name).sort();
  t.deepEqual(types, ['AlbaProxy', 'Arakoon', 'MetadataServer']);

  t.is((await failure(request(nc, 'ovs.model.storagerouter.list', { filter: { heartbeats: { a: 1 } } }))).type, 'VALIDATION_FAILED');
  t.is((await failure(request(nc, 'ovs.model.storagerouter.list', { filter: 'name' }))).type, 'VALIDATION_FAILED');
  t.is((await failure(request(nc, 'ovs.model.storagerouter.list', { unknown: 1 }))).type, 'VALIDATION_FAILED');
});

test.serial('model get carries computed fields; a fresh agent is OK', async (t) => {
  const sr = await get('storagerouter', me);
  t.is(sr.guid, me);
  t.is(sr.name, NAME);
  t.is(sr.status, 'OK');
  t.deepEqual(Object.keys(sr.partition_config as object).sort(), ['BACKEND', 'DB', 'DTL', 'SCRUB', 'WRITE']);
  t.deepEqual(sr.regular_domains, []);
  t.deepEqual(sr.recovery_domains, []);
  t.is(typeof (sr.heartbeats as { process: number }).process, 'number');
  t.false('status' in (await list('storagerouter'))[0]!, 'computed fields are for get, not list');

  const disk = (await list('disk'))[0]!;
  t.is((await get('disk', disk.guid)).storagerouter_guid, me);
  const partitions = await list('diskpartition');
  if (partitions.length > 0) t.true('folder' in (await get('diskpartition', partitions[0]!.guid)));
});

test.serial('model errors: unknown guid, bad guid, unknown type or operation', async (t) => {
  const missing = randomUUID();
  const e = await failure(get('storagerouter', missing));
  t.is(e.type, 'OBJECT_NOT_FOUND');
  t.like(e.details, { object_type: 'storagerouter', guid: missing });
  t.is((await failure(get('disk', missing))).type, 'OBJECT_NOT_FOUND');
  t.is((await failure(get('storagerouter', '../x'))).type, 'VALIDATION_FAILED');
  t.is((await failure(request(nc, 'ovs.model.storagerouter.get', {}))).type, 'VALIDATION_FAILED');
  for (const subject of ['ovs.model.nosuchtype.list', 'ovs.model.nosuchtype.get', 'ovs.model.storagerouter.delete', 'ovs.model.storagerouter.list.extra', 'ovs.model.storagerouter']) {
    t.is((await failure(request(nc, subject, { guid: me }))).type, 'BAD_REQUEST', subject);
  }
});

test.serial('domain management: create Domains, give a StorageRouter a regular and a recovery domain, refuse what does not fit', async (t) => {
  const create = (type: string, params: Record<string, unknown>): Promise<Obj> => request(nc, `ovs.model.${type}.create`, params);
  const east = await create('domain', { name: 'east' });
  const west = await create('domain', { name: 'west' });
  t.like(await get('domain', east.guid), { name: 'east' });
  const regular = await create('storagerouterdomain', { storagerouter_guid: me, domain_guid: east.guid });
  const recovery = await create('storagerouterdomain', { storagerouter_guid: me, domain_guid: west.guid, backup: true });
  t.like(regular, { backup: false, storagerouter_guid: me, domain_guid: east.guid });
  t.like(recovery, { backup: true });
  t.deepEqual((await list('storagerouterdomain', { storagerouter_guid: me })).map((d) => [d.domain_guid, d.backup]).sort(), [[east.guid, false], [west.guid, true]].sort());
  t.is((await failure(create('storagerouterdomain', { storagerouter_guid: me, domain_guid: east.guid }))).type, 'UNIQUE_CONSTRAINT_VIOLATION', 'a domain once per StorageRouter');
  t.is((await failure(create('storagerouterdomain', { storagerouter_guid: randomUUID(), domain_guid: east.guid }))).type, 'OBJECT_NOT_FOUND');
  t.is((await failure(create('storagerouterdomain', { storagerouter_guid: me, domain_guid: randomUUID() }))).type, 'OBJECT_NOT_FOUND');
  t.is((await failure(create('domain', { name: '' }))).type, 'VALIDATION_FAILED');
  t.is((await failure(create('domain', { name: 'x', extra: 1 }))).type, 'VALIDATION_FAILED');
  t.is((await failure(create('vpool', { name: 'nope' }))).type, 'BAD_REQUEST', 'only the domain types are written here');
  t.is((await failure(request(nc, 'ovs.model.domain.delete', { guid: east.guid }))).type, 'LINKED_OBJECT', 'a domain in use stays');
  await request(nc, 'ovs.model.storagerouterdomain.delete', { guid: regular.guid });
  await request(nc, 'ovs.model.domain.delete', { guid: east.guid });
  t.is((await failure(get('domain', east.guid))).type, 'OBJECT_NOT_FOUND');
  await request(nc, 'ovs.model.storagerouterdomain.delete', { guid: recovery.guid });
  await request(nc, 'ovs.model.domain.delete', { guid: west.guid });
});

test.serial('config get/set/list, with | sub-keys', async (t) => {
  const id = await cfg<{ key: string; exists: boolean; value: unknown }>('get', { key: '/ovs/framework/cluster_id' });
  t.true(id.exists);
  t.regex(String(id.value), /^[A-Za-z0-9]{16}$/);
  t.deepEqual(await cfg('get', { key: '/ovs/test/absent' }), { key: '/ovs/test/absent', exists: false, value: null });
  t.like(await cfg('get', { key: '/ovs/test/absent', default: 7 }), { exists: false, value: 7 });

  await cfg('set', { key: '/ovs/test/x', value: 5 });
  t.like(await cfg('get', { key: '/ovs/test/x' }), { exists: true, value: 5 });
  await cfg('set', { key: '/ovs/test/map', value: { a: 1, b: { c: 2 } } });
  await cfg('set', { key: '/ovs/test/map|b.d', value: 'three' });
  await cfg('set', { key: '/ovs/test/map|e.f.g', value: [1, 2] });
  t.deepEqual((await cfg<{ value: unknown }>('get', { key: '/ovs/test/map' })).value, { a: 1, b: { c: 2, d: 'three' }, e: { f: { g: [1, 2] } } });
  t.like(await cfg('get', { key: '/ovs/test/map|b.c' }), { exists: true, value: 2 });
  t.like(await cfg('get', { key: '/ovs/test/map|b.zz' }), { exists: false, value: null });
  t.like(await cfg('get', { key: '/ovs/test/map|a.b' }), { exists: false }, 'a field below a scalar does not exist');
  t.is((await failure(cfg('set', { key: '/ovs/test/x|a', value: 1 }))).type, 'BAD_REQUEST', '| into a scalar is refused');
  t.like(await cfg('get', { key: '/ovs/test/x' }), { value: 5 }, 'and leaves it alone');
  await cfg('set', { key: '/ovs/test/new|k', value: true });
  t.deepEqual((await cfg<{ value: unknown }>('get', { key: '/ovs/test/new' })).value, { k: true });

  t.deepEqual(await cfg('list', { key: '/ovs/test' }), ['map', 'new', 'x']);
  t.true((await cfg<string[]>('list', { key: '/ovs/framework' })).includes('cluster_id'));
  t.true((await cfg<string[]>('list', {})).includes('framework'), 'list defaults to /ovs');
  t.deepEqual(await cfg('list', { key: '/ovs/test/x' }), []);
  const odd = '/ovs/test/with space/é=1';
  await cfg('set', { key: odd, value: 'ok' });
  t.like(await cfg('get', { key: odd }), { exists: true, value: 'ok' });
  t.true((await cfg<string[]>('list', { key: '/ovs/test' })).includes('with space'));
});

test.serial('config path tricks are refused', async (t) => {
  for (const key of ['/ovs/../etc', '/ovs/./x', '..', '/ovs/a/../../etc|x', '/ovs/\u0000x', '/', '', 'x'.repeat(2000)]) {
    for (const op of ['get', 'set', 'list'] as const) {
      const e = await failure(cfg(op, op === 'set' ? { key, value: 1 } : { key }));
      // Keys outside the schema's 1..1024 characters fail validation; the rest reach the path check.
      t.is(e.type, key.length === 0 || key.length > 1024 ? 'VALIDATION_FAILED' : 'BAD_REQUEST', `${op} ${JSON.stringify(key).slice(0, 40)}`);
    }
  }
  t.like(await cfg('get', { key: '/etc' }), { exists: false });
  t.is((await failure(request(nc, 'ovs.config.delete', { key: '/ovs/test/x' }))).type, 'BAD_REQUEST');
  t.is((await failure(cfg('set', { key: 42, value: 1 }))).type, 'VALIDATION_FAILED');
});

// `|__proto__.x` once wrote Object.prototype.x in the agent, after which every strict schema refused every request.
test.serial('config | sub-keys cannot reach the prototype', async (t) => {
  const probe = {} as Record<string, unknown>;
  try {
    const outcome = await cfg('set', { key: '/ovs/test/pp|__proto__.polluted', value: 'yes' }).then(() => 'accepted', (e: OvsError) => e.type);
    await cfg('set', { key: '/ovs/test/pp|constructor.prototype.polluted', value: 'yes' }).catch(() => undefined);
    t.false('polluted' in probe, 'Object.prototype was written by a config request');
    t.is(outcome, 'BAD_REQUEST');
    t.like(await cfg('get', { key: '/ovs/framework/cluster_id' }), { exists: true }, 'the agent still answers');
  } finally {
    delete (Object.prototype as Record<string, unknown>).polluted;
  }
});

test.serial('a restart on the same data dir is the same StorageRouter with the same model', async (t) => {
  const clusterId = (await cfg<{ value: unknown }>('get', { key: '/ovs/framework/cluster_id' })).value;
  const snapshot = async (): Promise<unknown> => ({
    srs: (await list('storagerouter')).map((o) => [o.guid, o.name, o.ip, o.machine_id]),
    disks: (await list('disk')).map((o) => [o.guid, o.name, o.storagerouter_guid]).sort(),
    partitions: (await list('diskpartition')).map((o) => [o.guid, o.disk_guid, o.offset]).sort(),
  });
  const before = await snapshot();
  const dataDir = agent.opts.dataDir;
  await agent.stop();
  agent = await startAgent(server.url, { dataDir, name: NAME, ip: IP });
  t.is(agent.storagerouterGuid, me);
  t.deepEqual(await snapshot(), before);
  t.is((await get('storagerouter', me)).status, 'OK');
  t.is((await cfg<{ value: unknown }>('get', { key: '/ovs/framework/cluster_id' })).value, clusterId, 'cluster_id is seeded once');
  t.like(await cfg('get', { key: '/ovs/test/x' }), { value: 5 }, 'configuration survives');
  const again = await request<{ changes: number }>(nc, 'ovs.task.disk.sync_with_reality', { storagerouter_guid: me });
  t.is(again.changes, 0);
});

test.serial('secrets never leave the agent through the read API', async (t) => {
  const vp = await agent.services.store.create('vpool', { name: 'secretpool', status: 'RUNNING', login: 'client', password: 'hunter2' });
  const got = await get('vpool', vp.guid);
  t.is(got.password, '***');
  t.is(got.login, 'client');
  const listed = await list('vpool');
  t.false(JSON.stringify(listed).includes('hunter2'));
  await agent.services.store.delete('vpool', vp.guid);
});

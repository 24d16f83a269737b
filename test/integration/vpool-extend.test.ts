import { mkdtemp, rm } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { NatsConnection } from 'nats';
import { connectClient, request } from '../../src/client.js';
import { DTL_STATE_CODES } from '../../src/dataplane/dtl/config.js';
import type { OvsError } from '../../src/errors.js';
import { decode, encode } from '../../src/protocol/codec.js';
import { opsSubject, voldrvEventSubject, voldrvSubject } from '../../src/protocol/subjects.js';
import { AgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/eventually.js';
import { NatsServer } from '../helpers/nats-server.js';
import { run } from '../helpers/run.js';

interface Sd { guid: string; storage_ip: string; cluster_ip: string; storagerouter_guid: string; ports: { edge: number; dtl: number } }
interface AddResult { vpool_guid: string; storagedriver_guid: string; ignored: string[] }
interface ShrinkResult { vpool_guid: string; storagedriver_guid: string; vpool_removed: boolean; volume_driver_stopped: boolean | null }

const IPS = { a: '127.0.0.1', b: '127.0.0.2', c: '127.0.0.3', d: '127.0.0.4' } as const;
type Node = keyof typeof IPS;
const MiB = 1024 * 1024;

let ns: NatsServer;
let nc: NatsConnection;
let dir: string;
let backendPath: string;
let vpoolGuid: string;
const agents = {} as Record<Node, AgentProcess>;
const sds = {} as Record<Node, Sd>;

const call = <T = unknown>(task: string, params: Record<string, unknown>): Promise<T> => request<T>(nc, `ovs.task.${task}`, params, { timeoutMs: 60_000 });
const failure = async (p: Promise<unknown>): Promise<OvsError> => p.then(() => { throw new Error('expected a typed error'); }, (e: OvsError) => e);
const add = (node: Node, extra: Record<string, unknown> = {}): Promise<AddResult> =>
  call<AddResult>('storagerouter.add_vpool', { parameters: { vpool_name: 'pool1', storagerouter_ip: IPS[node], backend_info: { type: 'local', path: backendPath }, ...extra } });
const shrink = (node: Node, offline?: string[]): Promise<ShrinkResult> =>
  call<ShrinkResult>('vpool.shrink_vpool', { storagedriver_guid: sds[node].guid, ...(offline ? { offline_storage_router_guids: offline } : {}) });
const vpoolSds = (): Promise<Sd[]> => request<Sd[]>(nc, 'ovs.model.storagedriver.list', { filter: { vpool_guid: vpoolGuid } });
const vpoolStatus = async (): Promise<string> => (await request<{ status: string }>(nc, 'ovs.model.vpool.get', { guid: vpoolGuid })).status;
const nbdServes = async (sd: Sd): Promise<boolean> => (await run('nbdinfo', ['--list', `nbd://${sd.storage_ip}:${sd.ports.edge}`])).code === 0;
/** Every status the vPool's model entry takes while `work` runs (the first is the one it had). */
async function statusesDuring(work: () => Promise<unknown>): Promise<string[]> {
  const kv = await nc.jetstream().views.kv('ovs_model');
  const watch = await kv.watch({ key: `vpool.${vpoolGuid}` });
  const statuses: string[] = [];
  const watching = (async () => {
    for await (const e of watch) if (e.operation === 'PUT') statuses.push((decode(e.value) as { status: string }).status);
  })();
  await work().catch(() => undefined);
  await new Promise((r) => setTimeout(r, 200));
  watch.stop();
  await watching;
  return statuses;
}
const listening = (host: string, port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = tcpConnect({ host, port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });

test.before(async () => {
  ns = await NatsServer.start();
  nc = await connectClient(ns.url);
  dir = await mkdtemp(join(tmpdir(), 'ovs-vpool-extend-'));
  // One host, so one backend directory all the agents share (as a shared backend would be on real hosts).
  backendPath = join(dir, 'backend');
  // Below the ephemeral range and apart per agent: each agent is its own machine id with its own port range.
  const base = 20_000 + Math.floor(Math.random() * 24) * 400;
  for (const [i, node] of (['a', 'b', 'c', 'd'] as const).entries()) {
    agents[node] = await AgentProcess.start({ natsUrl: ns.url, name: `node-${node}`, ip: IPS[node] });
    const sr = await request<{ machine_id: string }>(nc, 'ovs.model.storagerouter.get', { guid: agents[node].guid });
    await request(nc, 'ovs.config.set', { key: `/ovs/framework/hosts/${sr.machine_id}/ports`, value: { storagedriver: [[base + i * 100, base + i * 100 + 99]] } });
  }
});

test.after.always(async () => {
  await Promise.all(Object.values(agents).map((a) => a.stop()));
  await nc?.close();
  await ns?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test.serial('add_vpool on A, then on B extends it: EXTENDING while it runs, RUNNING after, each StorageDriver on its own node IP', async (t) => {
  const created = await add('a');
  t.deepEqual(created.ignored, []);
  vpoolGuid = created.vpool_guid;
  sds.a = await request<Sd>(nc, 'ovs.model.storagedriver.get', { guid: created.storagedriver_guid });

  let extended: AddResult | undefined;
  t.deepEqual(await statusesDuring(async () => (extended = await add('b'))), ['RUNNING', 'EXTENDING', 'RUNNING'], 'the vPool was EXTENDING while B was added');
  t.is(extended?.vpool_guid, vpoolGuid);
  sds.b = await request<Sd>(nc, 'ovs.model.storagedriver.get', { guid: extended!.storagedriver_guid });

  for (const node of ['a', 'b'] as const) {
    t.like(sds[node], { storage_ip: IPS[node], cluster_ip: IPS[node], storagerouter_guid: agents[node].guid });
    t.true(await nbdServes(sds[node]), `NBD on ${IPS[node]}:${sds[node].ports.edge}`);
  }
  t.false(await listening(IPS.a, sds.b.ports.edge), "B's edge port is bound to B's IP only");

  const again = await failure(add('b'));
  t.is(again.type, 'VPOOL_ERROR');
  t.regex(again.message, /already served/);
  t.is((await vpoolSds()).length, 2);
});

test.serial('extending with another backend or configuration: VPOOL_ERROR naming the difference, nothing created, the vPool RUNNING', async (t) => {
  const otherPath = join(dir, 'other-backend');
  const backend = await failure(add('c', { backend_info: { type: 'local', path: otherPath } }));
  t.is(backend.type, 'VPOOL_ERROR');
  t.regex(backend.message, /backend_info\.path/);
  t.deepEqual(backend.details?.differences, [{ key: 'backend_info.path', given: otherPath, expected: backendPath }]);
  const config = await failure(add('c', { config_params: { sco_size: 8, dtl_mode: 'no_sync' } }));
  t.is(config.type, 'VPOOL_ERROR');
  t.regex(config.message, /config_params\.sco_size is 8, the vPool's is 4/);
  t.deepEqual((await vpoolSds()).map((sd) => sd.storagerouter_guid).sort(), [agents.a.guid, agents.b.guid].sort(), 'no StorageDriver on C');
  t.is(await vpoolStatus(), 'RUNNING');
});

test.serial("the original's add_vpool payload: its keys are accepted, those meaning nothing here reported as ignored, unknown keys refused", async (t) => {
  const original = {
    vpool_name: 'pool1',
    storagerouter_ip: IPS.c,
    storage_ip: IPS.c,
    backend_info: { type: 'local', path: backendPath, preset: 'default', alba_backend_guid: 'a7e2e9ab-8c3c-4b8e-9d3e-3f2b1c0d9e8f' },
    connection_info: { host: '10.100.1.1', port: 443, client_id: 'Qy8mVjcMHbv1', client_secret: 'Xv1FfHk9', local: true },
    backend_info_bc: null,
    connection_info_bc: null,
    backend_info_fc: { preset: 'cache', alba_backend_guid: '0c1e9c53-8d2b-4d6f-8d9c-1a2b3c4d5e6f' },
    connection_info_fc: { host: '', port: 443, client_id: 'a', client_secret: 'b' },
    caching_info: { cache_quota_bc: null, cache_quota_fc: 10_737_418_240, block_cache_on_read: false, block_cache_on_write: false, fragment_cache_on_read: true, fragment_cache_on_write: false },
    config_params: { dtl_mode: 'a_sync', sco_size: 4, cluster_size: 4, write_buffer: 1024, dtl_transport: 'tcp', advanced: { number_of_scos_in_tlog: 20, non_disposable_scos_factor: 12 } },
    mds_config_params: { mds_safety: 2 },
    writecache_size: 20,
    parallelism: { proxies: 2 },
  };
  for (const bad of [{ ...original, unknown_key: 1 }, { ...original, connection_info: { ...original.connection_info, extra: 1 } }, { ...original, parallelism: { proxies: 17 } }]) {
    t.is((await failure(call('storagerouter.add_vpool', { parameters: bad }))).type, 'VALIDATION_FAILED');
  }
  const alba = { ...original, vpool_name: 'pool9', backend_info: { preset: 'default', alba_backend_guid: 'a7e2e9ab-8c3c-4b8e-9d3e-3f2b1c0d9e8f' } };
  t.is((await failure(call('storagerouter.add_vpool', { parameters: alba }))).type, 'VPOOL_ERROR', 'a new vPool needs a backend that exists here');
  t.deepEqual(await request(nc, 'ovs.model.vpool.list', { filter: { name: 'pool9' } }), []);

  const r = await call<AddResult>('storagerouter.add_vpool', { parameters: original });
  t.deepEqual(r.ignored.sort(), [
    'backend_info.alba_backend_guid', 'backend_info.preset', 'backend_info_fc', 'caching_info', 'config_params.advanced', 'connection_info', 'connection_info_fc',
    'mds_config_params', 'parallelism', 'writecache_size',
  ]);
  sds.c = await request<Sd>(nc, 'ovs.model.storagedriver.get', { guid: r.storagedriver_guid });
  t.like(sds.c, { storage_ip: IPS.c, storagerouter_guid: agents.c.guid });
  t.true(await nbdServes(sds.c));
  t.is((await vpoolSds()).length, 3);
  t.is(await vpoolStatus(), 'RUNNING');
});

test.serial('shrink_vpool of C, which owns no vDisks but holds the DTL of one on A: the DTL moves to B without going DEGRADED, C leaves the model, its edge port closes, the vPool stays RUNNING', async (t) => {
  const vd = await call<string>('vdisk.create_new', { volume_name: 'disk-a', volume_size: 4 * MiB, storagedriver_guid: sds.a.guid });
  const volumeId = (await request<{ volume_id: string }>(nc, 'ovs.model.vdisk.get', { guid: vd })).volume_id;
  const onA = (method: string, args: Record<string, unknown>): Promise<unknown> => request(nc, voldrvSubject(agents.a.guid, sds.a.guid, method), args);
  await onA('set_manual_dtl_config', { volume_id: volumeId, config: { host: IPS.c, port: sds.c.ports.dtl, mode: 'Asynchronous' } });
  await waitFor('OK_SYNC with the DTL on C', async () => ((await onA('info_volume', { volume_id: volumeId })) as { failover_mode: string }).failover_mode === 'OK_SYNC');
  const states: number[] = [];
  const sub = nc.subscribe(voldrvEventSubject('dtl_state_transition'), { callback: (_e, m) => {
    const e = decode(m.data) as { volume_id: string; new_state: number };
    if (e.volume_id === volumeId) states.push(e.new_state);
  } });

  // Writes while shrinking: an idle link would not notice its DTL server going away, a busy one goes DEGRADED.
  let shrinking = true;
  const writer = (async () => {
    let writes = 0;
    for (; shrinking; writes++) await run('qemu-io', ['-f', 'raw', `nbd://${IPS.a}:${sds.a.ports.edge}/disk-a`, '-c', `write -P ${writes % 256} 0 64k`]);
    return writes;
  })();

  t.true(await listening(IPS.c, sds.c.ports.edge));
  t.deepEqual(await shrink('c'), { vpool_guid: vpoolGuid, storagedriver_guid: sds.c.guid, vpool_removed: false, volume_driver_stopped: true });
  shrinking = false;
  t.log(`${await writer} writes during the shrink`);
  const view = await request<{ dtl_config: Record<string, unknown> | null }>(nc, 'ovs.model.vdisk.get', { guid: vd });
  t.like(view.dtl_config, { storagerouter_guid: agents.b.guid, host: IPS.b, port: sds.b.ports.dtl, mode: 'Asynchronous', manual: false });
  await waitFor('the vDisk OK_SYNC on B', async () => ((await onA('info_volume', { volume_id: volumeId })) as { failover_mode: string }).failover_mode === 'OK_SYNC');
  await nc.flush();
  sub.unsubscribe();
  t.false(states.includes(DTL_STATE_CODES.DEGRADED), `the DTL moved before C's DTL server stopped (states ${states.join(', ')})`);
  await call('vdisk.delete', { vdisk_guid: vd });
  t.false(await listening(IPS.c, sds.c.ports.edge), "C's NBD listener is closed");
  t.false((await vpoolSds()).some((sd) => sd.guid === sds.c.guid));
  t.is(await vpoolStatus(), 'RUNNING');
  t.true(await nbdServes(sds.a) && await nbdServes(sds.b), 'the other nodes still serve the vPool');
  t.is((await failure(shrink('c'))).type, 'OBJECT_NOT_FOUND');
});

test.serial('shrink_vpool refuses a StorageDriver that still owns a vDisk, listing it, and changes nothing', async (t) => {
  const vd = await call<string>('vdisk.create_new', { volume_name: 'disk-b', volume_size: 4 * MiB, storagedriver_guid: sds.b.guid });
  const e = await failure(shrink('b'));
  t.is(e.type, 'STORAGEDRIVER_IN_USE');
  t.deepEqual(e.details?.vdisks, [{ guid: vd, name: 'disk-b' }]);
  t.regex(e.message, /disk-b/);
  t.true((await vpoolSds()).some((sd) => sd.guid === sds.b.guid));
  t.is(await vpoolStatus(), 'RUNNING');
  t.is((await run('nbdinfo', ['--size', `nbd://${IPS.b}:${sds.b.ports.edge}/disk-b`])).stdout.trim(), String(4 * MiB), 'the vDisk is still served');

  await call('vdisk.delete', { vdisk_guid: vd });
  t.like(await shrink('b'), { vpool_removed: false, volume_driver_stopped: true });
  t.false(await listening(IPS.b, sds.b.ports.edge));
});

test.serial('an offline node: shrinking needs it declared offline, and then its StorageDriver leaves the model without its agent', async (t) => {
  // An original caller extending with the ALBA backend_info it knows: the vPool's own backend is used.
  const r = await add('d', { backend_info: { preset: 'default', alba_backend_guid: 'a7e2e9ab-8c3c-4b8e-9d3e-3f2b1c0d9e8f' } });
  t.deepEqual(r.ignored.sort(), ['backend_info.alba_backend_guid', 'backend_info.preset']);
  sds.d = await request<Sd>(nc, 'ovs.model.storagedriver.get', { guid: r.storagedriver_guid });
  t.true(await nbdServes(sds.d));

  t.is((await failure(shrink('d', [agents.d.guid]))).type, 'VPOOL_ERROR', 'a node that answers is not offline');
  agents.d.kill9();
  await new Promise((r) => agents.d.child.once('exit', r));
  for (const node of ['d', 'a'] as const) {
    const e = await failure(shrink(node));
    t.is(e.type, 'VPOOL_ERROR', `shrinking ${node} with D down and not declared`);
    t.deepEqual(e.details?.storagerouter_guids, [agents.d.guid]);
  }
  t.is((await vpoolSds()).length, 2, 'nothing changed');
  t.deepEqual(await shrink('d', [agents.d.guid]), { vpool_guid: vpoolGuid, storagedriver_guid: sds.d.guid, vpool_removed: false, volume_driver_stopped: null });
  t.deepEqual((await vpoolSds()).map((sd) => sd.guid), [sds.a.guid]);
  t.is(await vpoolStatus(), 'RUNNING');

  const e = await failure(add('d'));
  t.is(e.type, 'VPOOL_ERROR', 'extending to a node whose agent is down');
  t.regex(e.message, /does not answer/);
  t.is((await vpoolSds()).length, 1);
  t.is(await vpoolStatus(), 'RUNNING');
});

test.serial('an extension that fails (the node answers but never starts its volume driver): the StorageDriver goes, the vPool is RUNNING again, not FAILURE', async (t) => {
  // D's agent is gone; this stands in for an agent that answers but hangs before it starts the volume driver.
  const hung = nc.subscribe(opsSubject(agents.d.guid, 'info'), { callback: (_e, m) => m.respond(encode({ ok: true, result: {} })) });
  let error: OvsError | undefined;
  const statuses = await statusesDuring(async () => {
    const parameters = { vpool_name: 'pool1', storagerouter_ip: IPS.d, backend_info: { type: 'local', path: backendPath } };
    error = await failure(request(nc, 'ovs.task.storagerouter.add_vpool', { parameters }, { timeoutMs: 4_000 }));
  });
  hung.unsubscribe();
  t.is(error?.type, 'VPOOL_ERROR');
  t.regex(error?.message ?? '', /did not come up in time/);
  t.deepEqual(statuses, ['RUNNING', 'EXTENDING', 'RUNNING']);
  t.deepEqual((await vpoolSds()).map((sd) => sd.guid), [sds.a.guid], 'the half-added StorageDriver is gone');
});

test.serial('shrinking the last StorageDriver removes the vPool and its configuration', async (t) => {
  t.true((await request<string[]>(nc, 'ovs.config.list', { key: '/ovs/vpools' })).includes(vpoolGuid));
  t.like(await shrink('a'), { vpool_removed: true, volume_driver_stopped: true });
  t.deepEqual(await request(nc, 'ovs.model.vpool.list', {}), []);
  t.deepEqual(await request(nc, 'ovs.model.storagedriver.list', {}), []);
  t.false((await request<string[]>(nc, 'ovs.config.list', { key: '/ovs/vpools' })).includes(vpoolGuid), 'its config keys are gone');
  t.false(await listening(IPS.a, sds.a.ports.edge));
});

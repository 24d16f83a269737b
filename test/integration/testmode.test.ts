import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import type { NatsConnection } from 'nats';
import { connectClient, request } from '../../src/client.js';
import { OFFLINE_AFTER_KEY } from '../../src/cluster/failure-detector.js';
import { InjectedFaultError, type OvsError } from '../../src/errors.js';
import { decode, encode } from '../../src/protocol/codec.js';
import { nodeModelSubject, testSubject, voldrvSubject, type TestOperation } from '../../src/protocol/subjects.js';
import type { FaultListing } from '../../src/testmode/admin.js';
import { AgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/eventually.js';
import { NatsServer } from '../helpers/nats-server.js';
import { run } from '../helpers/run.js';
import { qemuIo } from '../helpers/vpool-cluster.js';

/** One agent in test mode (runs the vPool), one without (must refuse the test subjects). */
const MiB = 1024 * 1024;
let ns: NatsServer;
let nc: NatsConnection;
let dir: string;
let on: AgentProcess;
let off: AgentProcess;
let vpool: string;
let sd: { guid: string; storage_ip: string; storagerouter_guid: string; ports: { edge: number } };

const call = <T = unknown>(task: string, params: Record<string, unknown>): Promise<T> => request<T>(nc, `ovs.task.${task}`, params, { timeoutMs: 90_000 });
const admin = <T = unknown>(op: TestOperation, params: Record<string, unknown>, agent = on): Promise<T> => request<T>(nc, testSubject(agent.guid, op), params, { timeoutMs: 10_000 });
const voldrv = <T = unknown>(method: string, args: Record<string, unknown>): Promise<T> => request<T>(nc, voldrvSubject(sd.storagerouter_guid, sd.guid, method), args);
const failure = async (p: Promise<unknown>): Promise<OvsError> => p.then(() => { throw new Error('expected a typed error'); }, (e: OvsError) => e);
const BIN = fileURLToPath(new URL('../../src/bin/ovs.js', import.meta.url));
const ovs = (...args: string[]): ReturnType<typeof run> => run(process.execPath, [BIN, ...args, '--json', '--nats', ns.url]);
const nbd = (name: string): string => `nbd://${sd.storage_ip}:${sd.ports.edge}/${name}`;
type VdiskInfo = { volume_id: string; info: { live_status: string; namespace: string } };
const vdiskInfo = (guid: string): Promise<VdiskInfo> => request<VdiskInfo>(nc, 'ovs.model.vdisk.get', { guid });
/** True once both agents' model views answer `probe` (a write reaches the other agent through the KV watch). */
const bothSee = (type: string, guid: string, exists: boolean): Promise<boolean> =>
  waitFor(`${type} ${guid} ${exists ? 'in' : 'gone from'} both views`, async () => {
    const seen = await Promise.all([on, off].map((a) => request(nc, nodeModelSubject(a.guid, type, 'get'), { guid }).then(() => true, () => false)));
    return seen.every((s) => s === exists);
  });

test.before(async () => {
  ns = await NatsServer.start();
  nc = await connectClient(ns.url);
  dir = await mkdtemp(join(tmpdir(), 'ovs-testmode-'));
  on = await AgentProcess.start({ natsUrl: ns.url, name: 'tm-on', ip: '127.0.0.95', testMode: true });
  off = await AgentProcess.start({ natsUrl: ns.url, name: 'tm-off', ip: '127.0.0.96' });
  await request(nc, 'ovs.config.set', { key: OFFLINE_AFTER_KEY, value: 3600 });
  const base = 30_000 + Math.floor(Math.random() * 300) * 100;
  const sr = await request<{ machine_id: string }>(nc, 'ovs.model.storagerouter.get', { guid: on.guid });
  await request(nc, 'ovs.config.set', { key: `/ovs/framework/hosts/${sr.machine_id}/ports`, value: { storagedriver: [[base, base + 99]] } });
  const r = await call<{ vpool_guid: string; storagedriver_guid: string }>('storagerouter.add_vpool', { parameters: { vpool_name: 'tmpool', storagerouter_ip: '127.0.0.95', backend_info: { type: 'local', path: join(dir, 'backend') } } });
  vpool = r.vpool_guid;
  sd = await request(nc, 'ovs.model.storagedriver.get', { guid: r.storagedriver_guid });
});

test.after.always(async () => {
  await Promise.all([on?.stop(), off?.stop()]);
  await nc?.close();
  await ns?.stop();
  await rm(dir, { recursive: true, force: true });
});

test.serial('backend.put armed for a vDisk\'s namespace: its backend sync fails, the volume halts; cleared and restarted, every byte reads back', async (t) => {
  const vd = await call<string>('vdisk.create_new', { volume_name: 'tm1', volume_size: 8 * MiB, storagedriver_guid: sd.guid });
  t.regex(await qemuIo(nbd('tm1'), 'write -P 0x5a 0 2M'), /wrote 2097152/);
  const { volume_id: volumeId, info } = await vdiskInfo(vd);
  t.is(info.live_status, 'RUNNING');

  const armed = await admin<FaultListing>('fault.arm', { point: 'backend.put', match: `${info.namespace}/` });
  t.deepEqual(armed.armed, [{ point: 'backend.put', match: `${info.namespace}/` }]);
  const tlog = await voldrv<string>('schedule_backend_sync', { volume_id: volumeId });
  // The volume retries its uploads with backoff, then halts rather than upload out of order.
  await waitFor('the volume halted', async () => (await vdiskInfo(vd)).info.live_status === 'HALTED', 30_000, 200);
  t.false(await voldrv<boolean>('is_volume_synced_up_to_tlog', { volume_id: volumeId, tlog_name: tlog }));
  const listed = await admin<FaultListing>('fault.list', {});
  t.true(listed.hits.length > 0 && listed.hits.every((h) => h.point === 'backend.put' && h.subject.startsWith(`${info.namespace}/`)), JSON.stringify(listed.hits));
  t.regex(await qemuIo(nbd('tm1'), 'write -P 0x11 0 4k'), /failed/i, 'a halted volume refuses writes');

  t.deepEqual((await admin<FaultListing>('fault.clear', {})).armed, []);
  await voldrv('restart_object', { object_id: volumeId });
  t.is((await vdiskInfo(vd)).info.live_status, 'RUNNING');
  const read = await qemuIo(nbd('tm1'), 'read -P 0x5a 0 2M');
  t.regex(read, /read 2097152/);
  t.notRegex(read, /fail|mismatch/i);
  const after = await voldrv<string>('schedule_backend_sync', { volume_id: volumeId });
  await waitFor('synced to the backend after the fault was cleared', () => voldrv<boolean>('is_volume_synced_up_to_tlog', { volume_id: volumeId, tlog_name: after }));
  t.pass();
});

test.serial('a fault armed for a number of times disarms itself: the retried upload succeeds and the volume keeps running', async (t) => {
  const vd = await call<string>('vdisk.create_new', { volume_name: 'tm2', volume_size: 8 * MiB, storagedriver_guid: sd.guid });
  t.regex(await qemuIo(nbd('tm2'), 'write -P 0x21 0 1M'), /wrote/);
  const { volume_id: volumeId, info } = await vdiskInfo(vd);
  const before = (await admin<FaultListing>('fault.list', {})).hits.length;
  await admin('fault.arm', { point: 'backend.put', match: `${info.namespace}/`, times: 2 });
  const tlog = await voldrv<string>('schedule_backend_sync', { volume_id: volumeId });
  await waitFor('synced despite two failed puts', () => voldrv<boolean>('is_volume_synced_up_to_tlog', { volume_id: volumeId, tlog_name: tlog }));
  const listed = await admin<FaultListing>('fault.list', {});
  t.deepEqual(listed.armed, [], 'used up');
  t.is(listed.hits.length - before, 2);
  t.is((await vdiskInfo(vd)).info.live_status, 'RUNNING');
});

test.serial('model.put and model.delete write the model directly, schema-checked; sync_with_reality repairs what disagrees with the data plane', async (t) => {
  const domain = await admin<{ guid: string; name: string }>('model.put', { type: 'domain', props: { name: 'tm-domain' } });
  t.is(domain.name, 'tm-domain');
  t.is((await admin<{ name: string }>('model.put', { type: 'domain', guid: domain.guid, props: { name: 'renamed' } })).name, 'renamed');
  t.is((await failure(admin('model.put', { type: 'domain', guid: domain.guid, props: { name: 5 } }))).type, 'VALIDATION_FAILED');
  t.is((await failure(admin('model.put', { type: 'no_such_type', props: {} }))).type, 'VALIDATION_FAILED');
  t.is((await failure(admin('model.put', { type: 'vdisk', props: { name: 'x', size: 1, devicename: '/x.raw' } }))).type, 'MISSING_MANDATORY_FIELDS', 'a vDisk needs its vPool');
  t.is((await failure(admin('model.put', { type: 'vdisk', props: { size: 1, devicename: '/x.raw', vpool_guid: 'no-such-vpool' } }))).type, 'OBJECT_NOT_FOUND');
  t.is(await admin('model.delete', { type: 'domain', guid: domain.guid }), null);
  t.is((await failure(admin('model.delete', { type: 'domain', guid: domain.guid }))).type, 'OBJECT_NOT_FOUND');

  // A vDisk the data plane does not have, and a real one missing from the model: the repair path puts both right.
  const ghost = await admin<{ guid: string }>('model.put', { type: 'vdisk', props: { name: 'ghost', size: MiB, devicename: '/ghost.raw', volume_id: 'no-such-volume', vpool_guid: vpool, storagedriver_guid: sd.guid } });
  // tm2's volume_create event was handled long ago: nothing but the repair path brings its model object back.
  const real = (await request<Array<{ guid: string }>>(nc, 'ovs.model.vdisk.list', { filter: { name: 'tm2' } }))[0]!.guid;
  // Its MDS junctions first: the model refuses to orphan them.
  for (const j of (await request<Array<{ guid: string; vdisk_guid: string }>>(nc, 'ovs.model.mdsservicevdisk.list', {})).filter((x) => x.vdisk_guid === real)) {
    await admin('model.delete', { type: 'mdsservicevdisk', guid: j.guid });
  }
  await admin('model.delete', { type: 'vdisk', guid: real });
  await bothSee('vdisk', ghost.guid, true);
  await bothSee('vdisk', real, false);
  t.deepEqual(await call('vdisk.sync_with_reality', { vpool_guid: vpool }), { created: 1, removed: 1 });
  const names = (await request<Array<{ name: string }>>(nc, 'ovs.model.vdisk.list', { filter: { vpool_guid: vpool } })).map((v) => v.name).sort();
  t.deepEqual(names, ['tm1', 'tm2']);
});

test.serial('bad bodies get typed errors; an injected fault crosses the wire as INJECTED_FAULT', async (t) => {
  t.is((await failure(admin('fault.arm', { point: 'disk.melt', match: '' }))).type, 'VALIDATION_FAILED');
  t.is((await failure(admin('fault.arm', { point: 'backend.put', match: '', times: 0 }))).type, 'VALIDATION_FAILED');
  t.is((await failure(admin('fault.clear', { point: 'backend.put', extra: 1 }))).type, 'VALIDATION_FAILED');
  t.is((await failure(request(nc, `ovs.node.${on.guid}.test.fault.melt`, {}))).type, 'BAD_REQUEST');
  const notAMap = await nc.request(testSubject(on.guid, 'fault.list'), encode([1, 2]), { timeout: 5_000 });
  t.like(decode(notAMap.data), { ok: false, error: { type: 'BAD_REQUEST' } });

  // A put the caller waits for (the volume config, at create) fails on the agent and reaches the caller as its class.
  await admin('fault.arm', { point: 'backend.put', match: 'tm4vol/', times: 1 });
  const e = await failure(voldrv('create_volume', { target_path: '/tm4.raw', volume_size: 4 * MiB, volume_id: 'tm4vol' }));
  t.true(e instanceof InjectedFaultError, `${e.type}: ${e.message}`);
  t.true(e.retryable);
  t.like(e.details, { point: 'backend.put' });
  t.regex((e as InjectedFaultError).subject, /^tm4vol\//);
  t.is(await voldrv('create_volume', { target_path: '/tm5.raw', volume_size: 4 * MiB, volume_id: 'tm5vol' }), 'tm5vol', 'the fault was used up');
});

// Found with this test mode: a create_volume whose config put failed left its backend namespace behind, so the
// retry its retryable error invites failed with BACKEND_NAMESPACE_EXISTS; create now removes what it began.
test.serial('a create_volume that failed on a backend put can be retried with the same volume id', async (t) => {
  await admin('fault.arm', { point: 'backend.put', match: 'tm6vol/', times: 1 });
  await failure(voldrv('create_volume', { target_path: '/tm6.raw', volume_size: 4 * MiB, volume_id: 'tm6vol' }));
  t.is(await voldrv('create_volume', { target_path: '/tm6.raw', volume_size: 4 * MiB, volume_id: 'tm6vol' }), 'tm6vol');
});

test.serial('an agent without --test-mode has no test subjects', async (t) => {
  for (const op of ['fault.arm', 'fault.list', 'model.put'] as const) {
    const e = await failure(admin(op, { point: 'backend.put', match: '' }, off));
    t.is((e as unknown as { code?: string }).code, '503', `${op}: no responders`);
  }
});

test.serial('ovs test fault arm|list|clear and ovs test model put|delete; an agent without --test-mode refuses as TEST_MODE_OFF', async (t) => {
  const armed = await ovs('test', 'fault', 'arm', on.guid, 'scrub.step', 'scrub:', '--times', '3');
  t.is(armed.code, 0, armed.stderr);
  t.deepEqual((JSON.parse(armed.stdout) as FaultListing).armed, [{ point: 'scrub.step', match: 'scrub:', times: 3 }]);
  t.deepEqual((JSON.parse((await ovs('test', 'fault', 'list', on.guid)).stdout) as FaultListing).armed.map((f) => f.point), ['scrub.step']);
  t.deepEqual((JSON.parse((await ovs('test', 'fault', 'clear', on.guid, 'scrub.step')).stdout) as FaultListing).armed, []);

  const put = await ovs('test', 'model', 'put', on.guid, 'domain', 'name=cli-domain');
  t.is(put.code, 0, put.stderr);
  const domain = JSON.parse(put.stdout) as { guid: string; name: string };
  t.is(domain.name, 'cli-domain');
  const bad = await ovs('test', 'model', 'put', on.guid, 'domain', '--guid', domain.guid, 'name=7');
  t.is(bad.code, 1);
  t.like(JSON.parse(bad.stdout), { error: { type: 'VALIDATION_FAILED' } });
  t.is((await ovs('test', 'model', 'delete', on.guid, 'domain', domain.guid)).code, 0);

  const refused = await ovs('test', 'fault', 'list', off.guid);
  t.is(refused.code, 1);
  t.like(JSON.parse(refused.stdout), { error: { type: 'TEST_MODE_OFF' } });
});

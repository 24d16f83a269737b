import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { NatsConnection } from 'nats';
import type { Agent } from '../../src/agent.js';
import { connectClient, request } from '../../src/client.js';
import type { OvsError } from '../../src/errors.js';
import { fsck } from '../../src/dataplane/backend/fsck.js';
import { LocalDirBackend } from '../../src/dataplane/backend/local-dir.js';
import { startAgent } from '../helpers/in-process-agent.js';
import { NatsServer } from '../helpers/nats-server.js';
import { run } from '../helpers/run.js';
import { waitFor } from '../helpers/eventually.js';

let ns: NatsServer;
let agent: Agent;
let nc: NatsConnection;
let sd: { guid: string; ports: { edge: number }; storage_ip: string };
let backendPath: string;
let dir: string;
const MiB = 1024 * 1024;
const call = <T = unknown>(task: string, params: Record<string, unknown>): Promise<T> => request<T>(nc, `ovs.task.${task}`, params, { timeoutMs: 60_000 });
const failure = async (p: Promise<unknown>): Promise<OvsError> => p.then(() => { throw new Error('expected a typed error'); }, (e: OvsError) => e);
const meta = (ts: string) => ({ label: ts, timestamp: ts, is_consistent: true, is_automatic: false, is_sticky: false });

test.before(async () => {
  ns = await NatsServer.start();
  dir = await mkdtemp(join(tmpdir(), 'ovs-vd-'));
  backendPath = join(dir, 'backend');
  agent = await startAgent(ns.url, { dataDir: join(dir, 'agent') });
  nc = await connectClient(ns.url);
  const sr = agent.services.view.get('storagerouter', agent.storagerouterGuid);
  // A port range of its own, so a concurrently running `ovs up` test never races this one for the same ports.
  const base = 30_000 + Math.floor(Math.random() * 300) * 100;
  await agent.services.config.set(`/ovs/framework/hosts/${agent.services.machineId}/ports`, { storagedriver: [[base, base + 99]] });
  const r = await call<{ storagedriver_guid: string }>('storagerouter.add_vpool', { parameters: { vpool_name: 'pool1', storagerouter_ip: sr.ip, backend_info: { type: 'local', path: backendPath } } });
  sd = await request(nc, 'ovs.model.storagedriver.get', { guid: r.storagedriver_guid });
});

test.after.always(async () => {
  await nc?.close();
  await agent?.stop();
  await ns?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test.serial('add_vpool: a RUNNING vPool with a StorageDriver whose edge port serves NBD; a second add to the same node is refused', async (t) => {
  const vpools = await request<Array<{ name: string; status: string }>>(nc, 'ovs.model.vpool.list', {});
  t.like(vpools.find((v) => v.name === 'pool1'), { status: 'RUNNING' });
  t.true(sd.ports.edge > 0);
  const sr = agent.services.view.get('storagerouter', agent.storagerouterGuid);
  t.is((await failure(call('storagerouter.add_vpool', { parameters: { vpool_name: 'pool1', storagerouter_ip: sr.ip, backend_info: { type: 'local', path: backendPath } } }))).type, 'VPOOL_ERROR');
  for (const bad of [{ vpool_name: 'Bad_Name', storagerouter_ip: sr.ip, backend_info: { type: 'local', path: '/tmp/x' } }, { vpool_name: 'pool2', storagerouter_ip: sr.ip, backend_info: { type: 'local', path: '../etc' } }, { vpool_name: 'pool2', storagerouter_ip: sr.ip, backend_info: { type: 'local', path: '/tmp/x' }, config_params: { sco_size: 5 } }]) {
    t.is((await failure(call('storagerouter.add_vpool', { parameters: bad }))).type, 'VALIDATION_FAILED');
  }
  t.is((await failure(call('storagerouter.add_vpool', { parameters: { vpool_name: 'pool3', storagerouter_ip: '10.9.9.9', backend_info: { type: 'local', path: '/tmp/x' } } }))).type, 'VPOOL_ERROR');
});

test.serial('each StorageDriver runs its DTL server on its dtl port: a client registers, adds, flushes and reads back; garbage closes only that connection', async (t) => {
  const { DtlClient } = await import('../../src/dataplane/dtl/client.js');
  const { createConnection } = await import('node:net');
  const dtlPort = (sd.ports as unknown as { dtl: number }).dtl;
  const garbage = createConnection(dtlPort, sd.storage_ip);
  await new Promise<void>((resolve) => garbage.once('connect', () => resolve()));
  garbage.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  await new Promise<void>((resolve) => garbage.once('close', () => resolve()));
  const client = await DtlClient.connect(sd.storage_ip, dtlPort, { connectTimeoutMs: 2_000, requestTimeoutMs: 5_000 });
  try {
    await client.register('dtl-probe-ns', 4096, 1n);
    await client.add([{ location: { scoNumber: 1, offset: 0 }, lba: 8n, data: Buffer.alloc(4096, 0x3d) }]);
    await client.flush();
    t.deepEqual(await client.rangeOf(), { oldest: 1, youngest: 1 });
    const got = [];
    for await (const e of client.entries()) got.push(e);
    t.is(got.length, 1);
    t.true(got[0]!.data.equals(Buffer.alloc(4096, 0x3d)));
    await client.unregister();
  } finally {
    client.close();
  }
});

test.serial('vDisk life cycle through NATS and NBD: write, snapshot, overwrite, rollback, clone, template, extend, delete', async (t) => {
  const uri = (name: string) => `nbd://${sd.storage_ip}:${sd.ports.edge}/${name}`;
  const vd = await call<string>('vdisk.create_new', { volume_name: 'disk1', volume_size: 64 * MiB, storagedriver_guid: sd.guid });
  t.is((await run('nbdinfo', ['--size', uri('disk1')])).stdout.trim(), String(64 * MiB));
  t.is((await run('qemu-io', ['-f', 'raw', uri('disk1'), '-c', 'write -P 0x11 0 2M', '-c', 'flush'])).code, 0);
  const snap = await call<string>('vdisk.create_snapshot', { vdisk_guid: vd, metadata: meta('1700000000') });
  while (!(await call<boolean>('vdisk.is_volume_synced_up_to_snapshot', { vdisk_guid: vd, snapshot_id: snap }))) await new Promise((r) => setTimeout(r, 50));
  t.is((await run('qemu-io', ['-f', 'raw', uri('disk1'), '-c', 'write -P 0x22 0 2M', '-c', 'flush'])).code, 0);
  t.true(await call<boolean>('vdisk.rollback', { vdisk_guid: vd, timestamp: '1700000000' }));
  const after = await run('qemu-io', ['-f', 'raw', uri('disk1'), '-c', 'read -P 0x11 0 2M']);
  t.false(after.stdout.includes('verification failed'), 'rollback restored the first pattern');

  const clone = await call<{ vdisk_guid: string; backingdevice: string }>('vdisk.clone', { vdisk_guid: vd, name: 'disk1-clone', snapshot_id: snap });
  t.is(clone.backingdevice, '/disk1-clone.raw');
  t.false((await run('qemu-io', ['-f', 'raw', uri('disk1-clone'), '-c', 'read -P 0x11 0 2M'])).stdout.includes('verification failed'));
  t.is((await failure(call('vdisk.delete_snapshot', { vdisk_guid: vd, snapshot_id: snap }))).type, 'OBJECT_STILL_HAS_CHILDREN');
  t.is((await failure(call('vdisk.delete', { vdisk_guid: vd }))).type, 'OBJECT_STILL_HAS_CHILDREN');
  t.is((await failure(call('vdisk.set_as_template', { vdisk_guid: clone.vdisk_guid }))).type, 'INVALID_OPERATION');

  await call('vdisk.extend', { vdisk_guid: vd, volume_size: 128 * MiB });
  t.is((await run('nbdinfo', ['--size', uri('disk1')])).stdout.trim(), String(128 * MiB));
  t.is((await request<{ size: number }>(nc, 'ovs.model.vdisk.get', { guid: vd })).size, 128 * MiB);

  const tpl = await call<string>('vdisk.create_new', { volume_name: 'golden', volume_size: 8 * MiB, storagedriver_guid: sd.guid });
  t.is((await run('qemu-io', ['-f', 'raw', uri('golden'), '-c', 'write -P 0x77 0 1M', '-c', 'flush'])).code, 0);
  await call('vdisk.set_as_template', { vdisk_guid: tpl });
  t.not((await run('qemu-io', ['-f', 'raw', uri('golden'), '-c', 'write -P 0x00 0 4k'])).code, 0, 'templates are read-only over NBD');
  const fromTpl = await call<{ vdisk_guid: string }>('vdisk.create_from_template', { vdisk_guid: tpl, name: 'vm1' });
  t.false((await run('qemu-io', ['-f', 'raw', uri('vm1'), '-c', 'read -P 0x77 0 1M'])).stdout.includes('verification failed'));

  for (const g of [clone.vdisk_guid, fromTpl.vdisk_guid, tpl, vd]) await call('vdisk.delete', { vdisk_guid: g });
  t.deepEqual(await call('vdisk.list_volumes', {}), []);
  const backend = new LocalDirBackend(backendPath);
  t.deepEqual(await backend.listNamespaces(), [], 'every namespace is gone from the backend');
  t.deepEqual(await request(nc, 'ovs.model.vdisk.list', {}), []);
});

test.serial('bad input at the vDisk tasks: typed errors and nothing half-done', async (t) => {
  const g = await call<string>('vdisk.create_new', { volume_name: 'good', volume_size: 4 * MiB, storagedriver_guid: sd.guid });
  t.is((await failure(call('vdisk.create_new', { volume_name: 'good', volume_size: 4 * MiB, storagedriver_guid: sd.guid }))).type, 'NAME_IN_USE');
  for (const name of ['../etc', 'a/../../b', 'x\u0000y', '..', 'a\\..\\b', '']) t.is((await failure(call('vdisk.create_new', { volume_name: name, volume_size: 4 * MiB, storagedriver_guid: sd.guid }))).type, 'VALIDATION_FAILED', name);
  t.is((await failure(call('vdisk.create_new', { volume_name: 'neg', volume_size: -4096, storagedriver_guid: sd.guid }))).type, 'VALIDATION_FAILED');
  t.is((await failure(call('vdisk.create_new', { volume_name: 'odd', volume_size: 4 * MiB + 1, storagedriver_guid: sd.guid }))).type, 'INVALID_SIZE');
  t.is((await failure(call('vdisk.create_new', { volume_name: 'xyz', volume_size: MiB, storagedriver_guid: 'no-such-sd' }))).type, 'OBJECT_NOT_FOUND');
  const unknown = 'no-such-vdisk';
  const perTask: Record<string, Record<string, unknown>> = {
    create_snapshot: { vdisk_guid: unknown, metadata: meta('1') }, rollback: { vdisk_guid: unknown, timestamp: '1' }, extend: { vdisk_guid: unknown, volume_size: MiB },
    delete: { vdisk_guid: unknown }, clone: { vdisk_guid: unknown, name: 'abc' }, schedule_backend_sync: { vdisk_guid: unknown }, set_as_template: { vdisk_guid: unknown },
    create_from_template: { vdisk_guid: unknown, name: 'abc' }, delete_snapshot: { vdisk_guid: unknown, snapshot_id: 's' },
    is_volume_synced_up_to_snapshot: { vdisk_guid: unknown, snapshot_id: 's' }, is_volume_synced_up_to_tlog: { vdisk_guid: unknown, tlog_name: 't' },
  };
  for (const [task, params] of Object.entries(perTask)) t.is((await failure(call(`vdisk.${task}`, params))).type, 'OBJECT_NOT_FOUND', task);
  t.is((await failure(call('vdisk.rollback', { vdisk_guid: g, timestamp: '123' }))).type, 'SNAPSHOT_NOT_FOUND');
  t.is((await failure(call('vdisk.extend', { vdisk_guid: g, volume_size: 2 * MiB }))).type, 'INVALID_SIZE');
  t.is((await failure(call('vdisk.create_snapshot', { vdisk_guid: g, metadata: { label: 'x' } }))).type, 'VALIDATION_FAILED');
  // Model and data plane agree afterwards, and the backend is consistent.
  const vdisks = await request<Array<{ name: string; volume_id: string }>>(nc, 'ovs.model.vdisk.list', {});
  t.deepEqual(vdisks.map((v) => v.name), ['good']);
  t.deepEqual(await call('vdisk.list_volumes', {}), [vdisks[0]!.volume_id]);
  t.deepEqual((await fsck(new LocalDirBackend(backendPath), vdisks[0]!.volume_id)).problems, []);
  t.deepEqual(await call('vdisk.sync_with_reality', {}), { created: 0, removed: 0 }, 'model and data plane agree');
  await call('vdisk.delete', { vdisk_guid: g });
});

test.serial("the original's callers: friendly and file names, integer timestamps, extra metadata, cache_quota's shape", async (t) => {
  // Names as the original's callers send them become cleaned devicenames (spec §2.1).
  const friendly = await call<string>('vdisk.create_new', { volume_name: 'Foo Bar', volume_size: 4 * MiB, storagedriver_guid: sd.guid });
  const file = await call<string>('vdisk.create_new', { volume_name: 'dir/one.raw', volume_size: 4 * MiB, storagedriver_guid: sd.guid });
  const get = (guid: string) => request<{ name: string; devicename: string; snapshots: Array<Record<string, unknown>> }>(nc, 'ovs.model.vdisk.get', { guid });
  t.like(await get(friendly), { name: 'Foo Bar', devicename: '/Foo_Bar.raw' });
  t.like(await get(file), { name: 'dir/one.raw', devicename: '/dir/one.raw' });
  t.is((await failure(call('vdisk.create_new', { volume_name: '/Foo Bar/', volume_size: 4 * MiB, storagedriver_guid: sd.guid }))).type, 'NAME_IN_USE', 'the cleaned name is what must be unique');
  // Snapshot timestamps as an integer or a digit string, read back as given; extra metadata keys kept.
  const asInt = await call<string>('vdisk.create_snapshot', { vdisk_guid: friendly, metadata: { label: 'int', timestamp: 1_700_000_000, is_consistent: true, hypervisor: 'kvm', ticket: 42 } });
  await waitFor('first snapshot in the backend', () => call<boolean>('vdisk.is_volume_synced_up_to_snapshot', { vdisk_guid: friendly, snapshot_id: asInt }));
  const asString = await call<string>('vdisk.create_snapshot', { vdisk_guid: friendly, metadata: { label: 'str', timestamp: '1700000100', is_consistent: false } });
  const snaps = (await get(friendly)).snapshots;
  t.like(snaps.find((x) => x.guid === asInt), { timestamp: 1_700_000_000, label: 'int', hypervisor: 'kvm', ticket: 42 });
  t.like(snaps.find((x) => x.guid === asString), { timestamp: '1700000100', label: 'str' });
  await waitFor('second snapshot in the backend', () => call<boolean>('vdisk.is_volume_synced_up_to_snapshot', { vdisk_guid: friendly, snapshot_id: asString }));
  t.true(await call<boolean>('vdisk.rollback', { vdisk_guid: friendly, timestamp: 1_700_000_000 }), 'an integer timestamp finds its snapshot');
  const huge = { label: 'big', timestamp: '1', is_consistent: true, notes: 'x'.repeat(5000) };
  t.is((await failure(call('vdisk.create_snapshot', { vdisk_guid: friendly, metadata: huge }))).type, 'VALIDATION_FAILED', 'metadata stays bounded');
  // cache_quota in the shape of spec §3.18, values null when neither the vDisk nor its vPool set one.
  t.deepEqual((await call<{ cache_quota: unknown }>('vdisk.get_config_params', { vdisk_guid: friendly })).cache_quota, { fragment: null, block: null });
  await call('vdisk.set_config_params', { vdisk_guid: friendly, new_config_params: { cache_quota: { fragment: 2 * 1024 ** 3 } } });
  t.deepEqual((await call<{ cache_quota: unknown }>('vdisk.get_config_params', { vdisk_guid: friendly })).cache_quota, { fragment: 2 * 1024 ** 3, block: null });
  for (const g of [friendly, file]) await call('vdisk.delete', { vdisk_guid: g });
});

test.serial('retention through the real tasks: 35 days of snapshots, sticky and cloned ones kept, same outcome as the pure policy', async (t) => {
  const { planRetention } = await import('../../src/policies/snapshot-retention.js');
  const vd = await call<string>('vdisk.create_new', { volume_name: 'aged', volume_size: 4 * MiB, storagedriver_guid: sd.guid });
  const start = Date.UTC(2026, 0, 5) / 1000;
  const made: Array<{ id: string; ts: number; consistent: boolean; sticky: boolean }> = [];
  for (let day = 0; day < 35; day++) {
    for (const [hour, consistent] of [[3, false], [20, true]] as const) {
      const ts = start + day * 86_400 + hour * 3600;
      const sticky = day === 2 && hour === 3;
      const id = await call<string>('vdisk.create_snapshot', { vdisk_guid: vd, metadata: { label: `d${day}`, timestamp: String(ts), is_consistent: consistent, is_automatic: !consistent, is_sticky: sticky } });
      while (!(await call<boolean>('vdisk.is_volume_synced_up_to_snapshot', { vdisk_guid: vd, snapshot_id: id }))) await new Promise((r) => setTimeout(r, 20));
      made.push({ id, ts, consistent, sticky });
    }
  }
  const cloned = made[10]!;
  const clone = await call<{ vdisk_guid: string }>('vdisk.clone', { vdisk_guid: vd, name: 'aged-clone', snapshot_id: cloned.id });
  const now = start + 35 * 86_400 + 2 * 3600 + 60;
  const expected = planRetention(made.map((m) => ({ id: m.id, timestamp: m.ts, is_consistent: m.consistent, is_sticky: m.sticky, is_clone_parent: m.id === cloned.id })), now, undefined, -new Date(now * 1000).getTimezoneOffset());
  t.true(expected.remove.length > 40, 'the policy has work to do');

  const { group_id } = await call<{ group_id: string }>('generic.delete_snapshots', { timestamp: now });
  const group = await request<{ status: string }>(nc, 'ovs.task.result', { task_id: group_id, wait_ms: 30_000 }, { timeoutMs: 35_000 });
  t.is(group.status, 'SUCCESS');
  const left = await waitForSnapshots(vd, expected.keep.length);
  t.deepEqual([...left].sort(), [...expected.keep].sort());
  t.true(left.includes(cloned.id), 'the clone source stays');
  t.true(left.includes(made.find((m) => m.sticky)!.id), 'the sticky snapshot stays');
  await call('vdisk.delete', { vdisk_guid: clone.vdisk_guid });
  await call('vdisk.delete', { vdisk_guid: vd });
});

async function waitForSnapshots(vd: string, count: number): Promise<string[]> {
  const host = await agent.storagedrivers.served(sd.guid);
  const volumeId = String(agent.services.view.get('vdisk', vd).volume_id);
  for (let i = 0; i < 200; i++) {
    const ids = host!.driver.list_snapshots({ volume_id: volumeId });
    if (ids.length === count) return ids;
    await new Promise((r) => setTimeout(r, 50));
  }
  return host!.driver.list_snapshots({ volume_id: volumeId });
}

test.serial('config params, restart and sync_with_reality: the model follows the data plane', async (t) => {
  const vd = await call<string>('vdisk.create_new', { volume_name: 'cfg1', volume_size: 8 * MiB, storagedriver_guid: sd.guid });
  t.like(await call('vdisk.get_config_params', { vdisk_guid: vd }), { sco_size: 4, dtl_mode: 'no_sync', pagecache_ratio: 1 });
  await call('vdisk.set_config_params', { vdisk_guid: vd, new_config_params: { sco_size: 8, pagecache_ratio: 0.5, write_buffer: 512 } });
  t.like(await call('vdisk.get_config_params', { vdisk_guid: vd }), { sco_size: 8, pagecache_ratio: 0.5, write_buffer: 512 });
  t.is((await failure(call('vdisk.set_config_params', { vdisk_guid: vd, new_config_params: { sco_size: 5 } }))).type, 'VALIDATION_FAILED');
  // One node: nowhere to keep a DTL, so a DTL mode cannot be applied (spec §3.19: no target → the update failed).
  t.like(await failure(call('vdisk.set_config_params', { vdisk_guid: vd, new_config_params: { dtl_mode: 'sync' } })), { type: 'CONFIG_UPDATE_FAILED' });
  t.like(await call('vdisk.get_config_params', { vdisk_guid: vd }), { dtl_mode: 'no_sync', dtl_target: [] });
  t.false(agent.services.view.get('vdisk', vd).has_manual_dtl, 'the manual flag is restored after a failed DTL change');
  const unknownDomain = await failure(call('vdisk.set_config_params', { vdisk_guid: vd, new_config_params: { dtl_mode: 'sync', dtl_target: ['no-such-domain'] } }));
  t.like(unknownDomain, { type: 'OBJECT_NOT_FOUND', details: { object_type: 'domain', guid: 'no-such-domain' } });
  const east = await request<{ guid: string }>(nc, 'ovs.model.domain.create', { name: 'east' });
  t.is((await failure(call('vdisk.set_config_params', { vdisk_guid: vd, new_config_params: { dtl_mode: 'no_sync', dtl_target: [east.guid] } }))).type, 'INVALID_DTL_SETTINGS', 'no_sync with targets');
  t.is((await failure(call('vdisk.set_config_params', { vdisk_guid: vd, new_config_params: { dtl_target: [east.guid] } }))).type, 'INVALID_DTL_SETTINGS', 'targets without a mode');
  await request(nc, 'ovs.model.domain.delete', { guid: east.guid });
  t.is((await failure(call('vdisk.restart', { vdisk_guid: vd, force: false }))).type, 'VOLUME_RUNNING');

  // Drift: a volume the model does not know, and a model object whose volume is gone.
  const host = (await agent.storagedrivers.served(sd.guid))!;
  const stray = await host.driver.create_volume({ target_path: '/stray.raw', volume_size: 4 * MiB, volume_id: 'stray-volume-1' });
  const ghost = await agent.services.store.create('vdisk', { name: 'ghost', devicename: '/ghost.raw', volume_id: 'no-such-volume', size: MiB, vpool_guid: (await request<{ vpool_guid: string }>(nc, 'ovs.model.storagedriver.get', { guid: sd.guid })).vpool_guid, storagedriver_guid: sd.guid });
  // The volume_create event (get-or-create, spec §3.23) and sync_with_reality race for the stray volume: between them
  // it gets exactly one vDisk, and the ghost goes.
  const first = await call<{ created: number; removed: number }>('vdisk.sync_with_reality', {});
  t.is(first.removed, 1);
  t.true(first.created <= 1);
  await waitFor('the stray volume in the model', async () => (await request<Array<{ volume_id: string }>>(nc, 'ovs.model.vdisk.list', {})).some((v) => v.volume_id === stray));
  t.is((await request<Array<{ volume_id: string }>>(nc, 'ovs.model.vdisk.list', {})).filter((v) => v.volume_id === stray).length, 1, 'one vDisk for the volume');
  const names = (await request<Array<{ name: string; volume_id: string }>>(nc, 'ovs.model.vdisk.list', {})).map((v) => v.name).sort();
  t.true(names.includes('stray') && !names.includes('ghost'));
  t.deepEqual(await call('vdisk.sync_with_reality', {}), { created: 0, removed: 0 }, 'idempotent');
  void ghost;
  // A delete event from the data plane removes the model object (delete_from_voldrv).
  await host.driver.unlink({ target_path: '/stray.raw' });
  await new Promise((r) => setTimeout(r, 200));
  t.false((await request<Array<{ volume_id: string }>>(nc, 'ovs.model.vdisk.list', {})).some((v) => v.volume_id === stray));
  await call('vdisk.delete', { vdisk_guid: vd });
});

test.serial('each vDisk is an actor: its tasks run one at a time in arrival order; computed fields come from the data plane', async (t) => {
  const vd = await call<string>('vdisk.create_new', { volume_name: 'serial1', volume_size: 4 * MiB, storagedriver_guid: sd.guid });
  const other = await call<string>('vdisk.create_new', { volume_name: 'serial2', volume_size: 4 * MiB, storagedriver_guid: sd.guid });
  type Run = { started_at: number; finished_at: number };
  const [same, elsewhere] = await Promise.all([
    Promise.all(Array.from({ length: 4 }, () => call<Run>('test.vdisk_sleep', { vdisk_guid: vd, ms: 150 }))),
    call<Run>('test.vdisk_sleep', { vdisk_guid: other, ms: 150 }),
  ]);
  const sorted = [...same].sort((a, b) => a.started_at - b.started_at);
  t.true(sorted.every((r, i) => i === 0 || r.started_at >= sorted[i - 1]!.finished_at), 'tasks on one vDisk never overlap');
  t.true(elsewhere.started_at < sorted[sorted.length - 1]!.started_at, 'another vDisk is not held up');
  await call('vdisk.delete', { vdisk_guid: other });
  // Growing sizes sent at once: applied in order, so none of them is a shrink of an already larger vDisk.
  const sizes = Array.from({ length: 12 }, (_, i) => (5 + i) * MiB);
  const outcomes = await Promise.allSettled(sizes.map((volume_size) => call('vdisk.extend', { vdisk_guid: vd, volume_size })));
  t.deepEqual(outcomes.map((o) => o.status), sizes.map(() => 'fulfilled'));
  const tree = agent.supervision.tree();
  t.truthy(tree.find((a) => a.path.endsWith(`vdisk.${vd}`) && a.path.includes('/storagedriver.')), 'the vDisk actor lives under its StorageDriver actor');

  const snap = await call<string>('vdisk.create_snapshot', { vdisk_guid: vd, metadata: { label: 'lbl', timestamp: '1700000123', is_consistent: true, is_sticky: true } });
  const got = await request<{ size: number; snapshots: Array<Record<string, unknown>>; info: Record<string, unknown>; dtl_status: string; storagerouter_guid: string }>(nc, 'ovs.model.vdisk.get', { guid: vd });
  t.is(got.size, 16 * MiB);
  t.like(got.snapshots[0], { guid: snap, label: 'lbl', timestamp: '1700000123', is_consistent: true, is_sticky: true });
  t.like(got.info, { live_status: 'RUNNING', volume_size: 16 * MiB, object_type: 'BASE' });
  // The vPool's default is a_sync, but a single node has nowhere to keep the DTL: standalone, which is all it can be.
  t.is(got.dtl_status, 'ok_standalone');
  t.like((got as unknown as { dtl_config: Record<string, unknown> }).dtl_config, { storagerouter_guid: null, host: null, manual: false, config_mode: 'MANUAL' });
  t.is(got.storagerouter_guid, agent.storagerouterGuid);
  await call('vdisk.delete', { vdisk_guid: vd });
});

test.serial('create_snapshots and delete_snapshots answer per vDisk; one failure does not hide the others', async (t) => {
  const a = await call<string>('vdisk.create_new', { volume_name: 'multi-a', volume_size: 4 * MiB, storagedriver_guid: sd.guid });
  const b = await call<string>('vdisk.create_new', { volume_name: 'multi-b', volume_size: 4 * MiB, storagedriver_guid: sd.guid });
  const made = await call<Record<string, [boolean, string]>>('vdisk.create_snapshots', { vdisk_guids: [a, b, 'no-such-vdisk'], metadata: meta('1700000500') });
  t.true(made[a]![0] && made[b]![0]);
  t.false(made['no-such-vdisk']![0]);
  for (const g of [a, b]) while (!(await call<boolean>('vdisk.is_volume_synced_up_to_snapshot', { vdisk_guid: g, snapshot_id: made[g]![1] }))) await new Promise((r) => setTimeout(r, 20));
  const res = await call<Record<string, unknown>>('vdisk.delete_snapshots', { snapshot_mapping: { [a]: [made[a]![1], 'nope'], [b]: made[b]![1] } });
  t.like(res[a], { success: false });
  t.deepEqual(((res[a] as { results: Record<string, [boolean, string]> }).results)[made[a]![1]], [true, made[a]![1]]);
  t.deepEqual(res[b], [true, made[b]![1]], 'a single id gets the legacy [ok, id] result');
  for (const g of [a, b]) await call('vdisk.delete', { vdisk_guid: g });
});

test.serial('data-plane events are not lost when their handler fails: the stream redelivers them', async (t) => {
  const { encode } = await import('../../src/protocol/codec.js');
  const js = nc.jetstream();
  // up_and_running of a StorageDriver the model does not know yet: the handler fails, the event comes back.
  await js.publish('ovs.evt.voldrv.up_and_running', encode({ type: 'up_and_running', cluster_id: 'x', node_id: 'late-sd-1', mountpoint: 'pool1' }));
  await new Promise((r) => setTimeout(r, 300));
  const existing = await request<{ vpool_guid: string; storagerouter_guid: string }>(nc, 'ovs.model.storagedriver.get', { guid: sd.guid });
  // A StorageDriver of another node (its agent is not running here, so nothing starts for it).
  const other = await agent.services.store.create('storagerouter', { name: 'late-node', ip: '10.99.0.1', heartbeats: {} });
  const late = await agent.services.store.create('storagedriver', {
    name: 'late', ports: { management: 1, xmlrpc: 2, dtl: 3, edge: 4 }, cluster_ip: '10.99.0.1', storage_ip: '10.99.0.1', storagedriver_id: 'late-sd-1',
    mountpoint: '/mnt/late', startup_counter: 0, vpool_guid: existing.vpool_guid, storagerouter_guid: other.guid,
  });
  const counted = async (): Promise<number> => Number((await request<{ startup_counter: number }>(nc, 'ovs.model.storagedriver.get', { guid: late.guid })).startup_counter);
  for (let i = 0; i < 100 && (await counted()) === 0; i++) await new Promise((r) => setTimeout(r, 100));
  t.is(await counted(), 1);
});

import test from 'ava';
import type { NatsConnection } from 'nats';
import { request } from '../../src/client.js';
import { PAGE_BYTES } from '../../src/dataplane/metadata/page-table.js';
import { decode } from '../../src/protocol/codec.js';
import { eventSubject, opsSubject, testSubject } from '../../src/protocol/subjects.js';
import { mdsClient } from '../../src/mds/client.js';
import { waitFor } from '../helpers/eventually.js';
import { qemuIo, startVpoolCluster, type ClusterStorageDriver, type VpoolCluster } from '../helpers/vpool-cluster.js';

/**
 * MDS services through three agent processes: safety on create, slaves that follow the backend (I5), the master lost
 * with its node (I13 through agents: the volume fails over its metadata, the framework restores safety), bad input.
 */
let cluster: VpoolCluster;
let nc: NatsConnection;
let sds: ClusterStorageDriver[];
const IPS = ['127.0.0.141', '127.0.0.142', '127.0.0.143'];
const MiB = 1024 * 1024;

interface Junction { vdisk_guid: string; mds_service_guid: string; is_master: boolean }
interface Service { guid: string; name: string; storagerouter_guid: string; ports: number[] }
interface MdsService { guid: string; service_guid: string; capacity: number; vpool_guid: string }

const call = <T = unknown>(task: string, params: Record<string, unknown>): Promise<T> => cluster.call<T>(task, params);
const url = (sd: ClusterStorageDriver, name: string): string => `nbd://${sd.storage_ip}:${sd.ports.edge}/${name}`;
const srOf = (ip: string): string => sds.find((s) => s.storage_ip === ip)!.storagerouter_guid;

/** `master-SR slave-SR,slave-SR` (slaves sorted) from the model's junctions. */
async function layout(vdisk: string): Promise<{ master: string | undefined; slaves: string[] }> {
  // Short timeouts: after a kill -9 a request can reach the dead agent; the polls ask again.
  const junctions = (await request<Junction[]>(nc, 'ovs.model.mdsservicevdisk.list', {}, { timeoutMs: 10_000 })).filter((j) => j.vdisk_guid === vdisk);
  const mds = await request<MdsService[]>(nc, 'ovs.model.mdsservice.list', {}, { timeoutMs: 10_000 });
  const services = await request<Service[]>(nc, 'ovs.model.service.list', {}, { timeoutMs: 10_000 });
  const sr = (j: Junction): string => services.find((s) => s.guid === mds.find((m) => m.guid === j.mds_service_guid)?.service_guid)!.storagerouter_guid;
  return { master: junctions.filter((j) => j.is_master).map(sr)[0], slaves: junctions.filter((j) => !j.is_master).map(sr).sort() };
}

async function info(sd: ClusterStorageDriver, volumeId: string): Promise<{ metadata_backend_config: Array<{ address: string; port: number }> }> {
  return request(nc, `ovs.node.${sd.storagerouter_guid}.voldrv.${sd.guid}.info_volume`, { volume_id: volumeId });
}

async function synced(vd: string): Promise<void> {
  const tlog = await call<string>('vdisk.schedule_backend_sync', { vdisk_guid: vd });
  await waitFor('backend sync', () => call<boolean>('vdisk.is_volume_synced_up_to_tlog', { vdisk_guid: vd, tlog_name: tlog }));
}

/** Every page of a table through the MDS service's NATS subject (a test process has no MDS of its own). */
async function dump(address: string, ns: string): Promise<Map<number, string>> {
  const c = mdsClient(address, nc, 10_000);
  const numbers = await c.page_numbers(ns);
  const pages = await c.multiget(ns, numbers);
  return new Map(numbers.map((p, i) => [p, pages[i]!.toString('hex')]).filter(([, hex]) => hex !== '0'.repeat(PAGE_BYTES * 2)) as Array<[number, string]>);
}

test.before(async () => {
  cluster = await startVpoolCluster({ ips: IPS, vpoolName: 'mpool', offlineAfterS: 3, testMode: true });
  ({ nc, sds } = cluster);
});

test.after.always(async () => {
  await cluster?.stop();
});

test.serial('add_vpool gives every StorageDriver an MDS service; create_new makes the vDisk safe: master on its node, slaves on the others', async (t) => {
  const mds = (await request<MdsService[]>(nc, 'ovs.model.mdsservice.list', {})).filter((m) => m.vpool_guid === cluster.vpool);
  t.is(mds.length, 3);
  // Each is an actor of its node's tree, under the StorageDriver.
  const tree = await request<Array<{ path: string; parent?: string }>>(nc, opsSubject(sds[0]!.storagerouter_guid, 'tree'), {});
  const actor = tree.find((a) => a.path.includes(`mds.${IPS[0]!.replaceAll('.', '_')}_`));
  t.truthy(actor, JSON.stringify(tree.map((a) => a.path)));
  t.regex(actor?.parent ?? '', /storagedriver/);
  const vd = await call<string>('vdisk.create_new', { volume_name: 'safe1', volume_size: 32 * MiB, storagedriver_guid: sds[1]!.guid });
  const l = await layout(vd);
  t.is(l.master, srOf(IPS[1]!));
  t.deepEqual(l.slaves, [srOf(IPS[0]!), srOf(IPS[2]!)].sort());
  const volumeId = (await request<{ volume_id: string }>(nc, 'ovs.model.vdisk.get', { guid: vd })).volume_id;
  const cfg = (await info(sds[1]!, volumeId)).metadata_backend_config;
  t.is(cfg.length, 3);
  t.is(cfg[0]!.address, IPS[1]!);
  // A second run has nothing to do.
  const again = await call<{ changed: boolean }>('mds.ensure_safety', { vdisk_guid: vd });
  t.false(again.changed);
});

test.serial('I5 through agents: slaves behind the backend catch up (mds_catchup) and then equal the master, page for page', async (t) => {
  const vd = (await request<Array<{ guid: string; name: string; volume_id: string }>>(nc, 'ovs.model.vdisk.list', {})).find((v) => v.name === 'safe1')!;
  for (let i = 0; i < 3; i++) {
    t.regex(await qemuIo(url(sds[1]!, 'safe1'), `write -P ${0x21 + i} ${i * 4}M 3M`), /wrote/);
    await synced(vd.guid);
  }
  const cfg = (await info(sds[1]!, vd.volume_id)).metadata_backend_config.map((n) => `${n.address}:${n.port}`);
  const [master, ...slaves] = cfg;
  for (const slave of slaves) t.true((await mdsClient(slave, nc).catch_up(vd.volume_id, true)).tlogs >= 3, `${slave} is behind before any catch-up`);
  await request(nc, 'ovs.config.set', { key: '/ovs/volumedriver/mds/tlogs_behind', value: 1 });
  const r = await call<{ slaves: Array<{ service: string; tlogs_behind: number; caught_up: boolean }> }>('mds.mds_catchup', {});
  t.true(r.slaves.filter((x) => slaves.includes(x.service)).every((x) => x.caught_up));
  const want = await dump(master!, vd.volume_id);
  t.true(want.size > 0);
  for (const slave of slaves) {
    t.is((await mdsClient(slave, nc).catch_up(vd.volume_id, true)).tlogs, 0, `${slave} is current`);
    t.deepEqual(await dump(slave, vd.volume_id), want, `${slave} equals the master`);
  }
});

test.serial('bad input: safety for a vDisk whose host is excluded, or with an unknown StorageRouter, is refused and nothing changes', async (t) => {
  const vd = (await request<Array<{ guid: string; name: string }>>(nc, 'ovs.model.vdisk.list', {})).find((v) => v.name === 'safe1')!;
  const before = await layout(vd.guid);
  const excluded = await t.throwsAsync(call('mds.ensure_safety', { vdisk_guid: vd.guid, excluded_storagerouter_guids: [srOf(IPS[1]!)] }));
  t.is((excluded as { type?: string }).type, 'MDS_SAFETY');
  t.regex(excluded.message, new RegExp(IPS[1]!.replaceAll('.', '\\.')));
  const unknown = await t.throwsAsync(call('mds.ensure_safety', { vdisk_guid: vd.guid, excluded_storagerouter_guids: ['0123456789abcdef0123456789abcdef'] }));
  t.regex((unknown as { type?: string }).type ?? '', /NOT_FOUND/);
  t.deepEqual(await layout(vd.guid), before);
});

test.serial('a reconfiguration that fails half-way leaves nothing behind: the old configuration, junctions and no stray namespace (the original could leave less safety)', async (t) => {
  const mdsConfigKey = `/ovs/vpools/${cluster.vpool}/mds_config`;
  const cfg = await request<Record<string, number>>(nc, 'ovs.config.get', { key: mdsConfigKey });
  await request(nc, 'ovs.config.set', { key: mdsConfigKey, value: { ...cfg, mds_safety: 2 } });
  const vd = await call<string>('vdisk.create_new', { volume_name: 'half1', volume_size: 16 * MiB, storagedriver_guid: sds[0]!.guid });
  const volumeId = (await request<{ volume_id: string }>(nc, 'ovs.model.vdisk.get', { guid: vd })).volume_id;
  t.regex(await qemuIo(url(sds[0]!, 'half1'), 'write -P 0x5a 0 1M'), /wrote/);
  await synced(vd);
  const before = await layout(vd);
  const configBefore = (await info(sds[0]!, volumeId)).metadata_backend_config;
  t.is(configBefore.length, 2);
  const missing = sds.find((sd) => sd.storagerouter_guid !== before.master && !before.slaves.includes(sd.storagerouter_guid))!;
  // The new slave's catch-up fails (its node's MDS service is told to fail it).
  await request(nc, 'ovs.config.set', { key: mdsConfigKey, value: { ...cfg, mds_safety: 3 } });
  await request(nc, testSubject(missing.storagerouter_guid, 'fault.arm'), { point: 'mds.catch_up', match: missing.storage_ip });
  const e = await t.throwsAsync(call('mds.ensure_safety', { vdisk_guid: vd }));
  t.is((e as { type?: string }).type, 'MDS_ERROR');
  t.deepEqual((await info(sds[0]!, volumeId)).metadata_backend_config, configBefore, 'the volume keeps its configuration');
  t.deepEqual(await layout(vd), before, 'the model keeps its junctions');
  const missingAddress = `${missing.storage_ip}:${(await request<Service[]>(nc, 'ovs.model.service.list', {})).find((x) => x.storagerouter_guid === missing.storagerouter_guid && x.name.startsWith('metadataserver_mpool_'))!.ports[0]!}`;
  t.false((await mdsClient(missingAddress, nc).list_namespaces()).includes(volumeId), 'the namespace this run created is gone again');
  // Once the service works again, safety 3 is reached.
  await request(nc, testSubject(missing.storagerouter_guid, 'fault.clear'), {});
  await call('mds.ensure_safety', { vdisk_guid: vd });
  t.is((await info(sds[0]!, volumeId)).metadata_backend_config.length, 3);
  t.true((await mdsClient(missingAddress, nc).list_namespaces()).includes(volumeId));
  t.notRegex(await qemuIo(url(sds[0]!, 'half1'), 'read -P 0x5a 0 1M'), /fail|error/i);
  await request(nc, 'ovs.config.set', { key: mdsConfigKey, value: cfg });
});

test.serial('concurrent ensure_safety for several vDisks (one run per vPool at a time): each vDisk ends safe, none is answered with another one\'s run', async (t) => {
  const mdsConfigKey = `/ovs/vpools/${cluster.vpool}/mds_config`;
  const cfg = await request<Record<string, number>>(nc, 'ovs.config.get', { key: mdsConfigKey });
  await request(nc, 'ovs.config.set', { key: mdsConfigKey, value: { ...cfg, mds_safety: 1 } });
  const vdisks: string[] = [];
  for (let i = 0; i < 4; i++) vdisks.push(await call<string>('vdisk.create_new', { volume_name: `many${i}`, volume_size: 8 * MiB, storagedriver_guid: sds[i % 3]!.guid }));
  for (const vd of vdisks) t.deepEqual((await layout(vd)).slaves, [], 'safety 1: a master only');
  await request(nc, 'ovs.config.set', { key: mdsConfigKey, value: { ...cfg, mds_safety: 3 } });
  const outcomes = await Promise.all(vdisks.map((vd) => call<{ vdisk_guid: string }>('mds.ensure_safety', { vdisk_guid: vd })));
  t.deepEqual(outcomes.map((o) => o.vdisk_guid), vdisks, 'each call answers for its own vDisk');
  for (const vd of vdisks) t.is((await layout(vd)).slaves.length, 2, 'safety 3 for every vDisk');
  await request(nc, 'ovs.config.set', { key: mdsConfigKey, value: cfg });
});

test.serial('MDS services through the admin API: one more with an explicit capacity; an empty one is removed, one in use is not', async (t) => {
  const created = await request<MdsService & { number: number }>(nc, 'ovs.model.mdsservice.create', { vpool_guid: cluster.vpool, storagerouter_guid: srOf(IPS[0]!), capacity: 7 });
  t.is(created.capacity, 7);
  t.is(created.number, 1);
  const used = (await request<Junction[]>(nc, 'ovs.model.mdsservicevdisk.list', {}))[0]!;
  const refused = await t.throwsAsync(request(nc, 'ovs.model.mdsservice.delete', { guid: used.mds_service_guid }));
  t.is((refused as { type?: string }).type, 'MDS_ERROR');
  await request(nc, 'ovs.model.mdsservice.delete', { guid: created.guid });
  t.falsy((await request<MdsService[]>(nc, 'ovs.model.mdsservice.list', {})).find((m) => m.guid === created.guid));
  const bad = await t.throwsAsync(request(nc, 'ovs.model.mdsservice.create', { vpool_guid: cluster.vpool, storagerouter_guid: srOf(IPS[0]!), capacity: 'lots' }));
  t.is((bad as { type?: string }).type, 'VALIDATION_FAILED');
});

test.serial('I13 through agents: the owner and its MDS master die; the vDisk restarts elsewhere, takes a slave as master (code 25), safety comes back without the dead node', async (t) => {
  const vd = (await request<Array<{ guid: string; name: string; volume_id: string }>>(nc, 'ovs.model.vdisk.list', {})).find((v) => v.name === 'safe1')!;
  t.regex(await qemuIo(url(sds[1]!, 'safe1'), 'write -P 0x77 16M 2M'), /wrote/);
  await synced(vd.guid);
  const failovers: Array<{ vdisk_guid: string; metadata: { from: string; service?: string } | null }> = [];
  const sub = nc.subscribe(eventSubject('vdisk', 'failover'), { callback: (_e, m) => failovers.push(decode(m.data, 'msgpack') as (typeof failovers)[number]) });
  await cluster.agents[1]!.kill9AndWait();
  const dead = srOf(IPS[1]!);
  const l = await waitFor('master and slaves on the survivors only', async () => {
    const now = await layout(vd.guid);
    return now.master && now.master !== dead && !now.slaves.includes(dead) && now.slaves.length === 1 ? now : undefined;
  }, 90_000, 250);
  const owner = (await request<{ storagedriver_guid: string }>(nc, 'ovs.model.vdisk.get', { guid: vd.guid })).storagedriver_guid;
  const ownerSd = sds.find((s) => s.guid === owner)!;
  t.is(l.master, ownerSd.storagerouter_guid, 'the master is next to the volume again');
  for (let i = 0; i < 3; i++) t.notRegex(await qemuIo(url(ownerSd, 'safe1'), `read -P ${0x21 + i} ${i * 4}M 3M`), /fail|error/i);
  t.notRegex(await qemuIo(url(ownerSd, 'safe1'), 'read -P 0x77 16M 2M'), /fail|error/i);
  const cfg = (await info(ownerSd, vd.volume_id)).metadata_backend_config;
  t.false(cfg.some((n) => n.address === IPS[1]), 'the dead node left the configuration');
  sub.unsubscribe();
  const event = failovers.find((f) => f.vdisk_guid === vd.guid);
  t.is(event?.metadata?.from, 'mds', `the new owner started from a slave's table, not the whole chain: ${JSON.stringify(event)}`);
  t.not(event?.metadata?.service?.split(':')[0], IPS[1]);
  const survivor = cluster.agents[sds.indexOf(ownerSd)]!;
  t.regex(survivor.log.join(''), /MDS failover: a slave took over as master/, 'the volume failed over its metadata itself (volumedriver_error code 25)');
});

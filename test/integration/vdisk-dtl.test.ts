import test from 'ava';
import { request } from '../../src/client.js';
import type { OvsError } from '../../src/errors.js';
import { waitFor } from '../helpers/eventually.js';
import { voldrvSubject } from '../../src/protocol/subjects.js';
import { qemuIo, startVpoolCluster, type ClusterStorageDriver, type VpoolCluster } from '../helpers/vpool-cluster.js';

/** vdisk.dtl_checkup, dtl_state_transition, the DTL parts of the config params and dtl_status on three agents. */
let c: VpoolCluster;
const IPS = ['127.0.0.87', '127.0.0.88', '127.0.0.89'];
const MiB = 1024 * 1024;

interface DtlView {
  storagerouter_guid: string | null;
  host: string | null;
  port: number | null;
  mode: string | null;
  manual: boolean;
  config_mode: string;
}
interface VdiskView {
  dtl_status: string;
  dtl_config: DtlView | null;
}

const vdiskGet = (vd: string): Promise<VdiskView> => request<VdiskView>(c.nc, 'ovs.model.vdisk.get', { guid: vd });
const sdOn = (sr: string | null): ClusterStorageDriver => c.sds.find((s) => s.storagerouter_guid === sr)!;
const url = (sd: ClusterStorageDriver, name: string): string => `nbd://${sd.storage_ip}:${sd.ports.edge}/${name}`;
// A model object made through one agent reaches the others through the KV watch: junctions retry until it has.
const junction = (body: Record<string, unknown>): Promise<unknown> => waitFor('the junction', () => request(c.nc, 'ovs.model.storagerouterdomain.create', body).then(() => true));
const failure = async (p: Promise<unknown>): Promise<OvsError> => p.then(() => { throw new Error('expected a typed error'); }, (e: OvsError) => e);
const targetOf = async (vd: string): Promise<string> => waitFor(`a DTL target for ${vd}`, async () => (await vdiskGet(vd)).dtl_config?.storagerouter_guid ?? undefined);

test.before(async () => {
  c = await startVpoolCluster({ ips: IPS, vpoolName: 'dpool', offlineAfterS: 3600 });
});

test.after.always(async () => {
  await c?.stop();
});

test.serial('create_new on a three-node vPool: the DTL goes to another node, in the vPool mode, and gets in sync', async (t) => {
  const owner = c.sds[0]!;
  const vd = await c.call<string>('vdisk.create_new', { volume_name: 'd1', volume_size: 16 * MiB, storagedriver_guid: owner.guid });
  const target = await targetOf(vd);
  t.not(target, owner.storagerouter_guid, 'never its own node');
  const view = await vdiskGet(vd);
  t.like(view.dtl_config, { host: sdOn(target).storage_ip, port: sdOn(target).ports.dtl, mode: 'Asynchronous', manual: false, config_mode: 'MANUAL' });
  t.like(await c.call('vdisk.get_config_params', { vdisk_guid: vd }), { dtl_mode: 'a_sync', dtl_target: [] });
  t.regex(await qemuIo(url(owner, 'd1'), 'write -P 0x21 0 1M'), /wrote/);
  await waitFor('dtl_status ok_sync', async () => (await vdiskGet(vd)).dtl_status === 'ok_sync');
  t.is((await vdiskGet(vd)).dtl_status, 'ok_sync');
});

test.serial('dtl_checkup keeps a valid target, honours exclusions by StorageRouter guid and prefers the recovery domain', async (t) => {
  const vd = (await request<Array<{ guid: string; name: string }>>(c.nc, 'ovs.model.vdisk.list', { filter: { name: 'd1' } }))[0]!.guid;
  const first = await targetOf(vd);
  for (let i = 0; i < 3; i++) t.like(await c.call('vdisk.dtl_checkup', { vdisk_guid: vd }), { configured: {} }, 'no flapping');
  t.is(await targetOf(vd), first);
  await c.call('vdisk.dtl_checkup', { vdisk_guid: vd, storagerouters_to_exclude: [first] });
  const second = await targetOf(vd);
  t.true(second !== first && second !== c.sds[0]!.storagerouter_guid, 'the excluded node is left');
  t.like((await vdiskGet(vd)).dtl_config, { host: sdOn(second).storage_ip, port: sdOn(second).ports.dtl });
  t.like(await failure(c.call('vdisk.dtl_checkup', { vdisk_guid: vd, vpool_guid: c.vpool })), { type: 'VALIDATION_FAILED' });

  const rec = await request<{ guid: string }>(c.nc, 'ovs.model.domain.create', { name: 'rec' });
  await junction({ storagerouter_guid: c.sds[0]!.storagerouter_guid, domain_guid: rec.guid, backup: true });
  await junction({ storagerouter_guid: first, domain_guid: rec.guid });
  await waitFor('the DTL in the recovery domain', async () => {
    await c.call('vdisk.dtl_checkup', { vpool_guid: c.vpool });
    return (await targetOf(vd)) === first;
  });
  t.is(await targetOf(vd), first, 'the node of the recovery domain, before the regular one');
});

test.serial('set_config_params: a manual DTL in the chosen domain that checkups leave alone; no_sync turns it off', async (t) => {
  const vd = (await request<Array<{ guid: string }>>(c.nc, 'ovs.model.vdisk.list', { filter: { name: 'd1' } }))[0]!.guid;
  const recovery = await targetOf(vd);
  const manualSd = c.sds.find((s) => s !== c.sds[0] && s.storagerouter_guid !== recovery)!;
  const man = await request<{ guid: string }>(c.nc, 'ovs.model.domain.create', { name: 'man' });
  await junction({ storagerouter_guid: manualSd.storagerouter_guid, domain_guid: man.guid });
  await waitFor('the manual target set', async () => {
    await c.call('vdisk.set_config_params', { vdisk_guid: vd, new_config_params: { dtl_mode: 'sync', dtl_target: [man.guid] } });
    return (await targetOf(vd)) === manualSd.storagerouter_guid;
  });
  t.like((await vdiskGet(vd)).dtl_config, { mode: 'Synchronous', manual: true });
  t.like(await c.call('vdisk.get_config_params', { vdisk_guid: vd }), { dtl_mode: 'sync', dtl_target: [man.guid] });
  await c.call('vdisk.dtl_checkup', {});
  t.is(await targetOf(vd), manualSd.storagerouter_guid, 'a manual DTL is never moved by a checkup (the recovery domain would win otherwise)');
  t.regex(await qemuIo(url(c.sds[0]!, 'd1'), 'write -P 0x22 0 1M'), /wrote/);
  await waitFor('manual DTL ok_sync', async () => (await vdiskGet(vd)).dtl_status === 'ok_sync');

  await c.call('vdisk.set_config_params', { vdisk_guid: vd, new_config_params: { dtl_mode: 'no_sync' } });
  t.like((await vdiskGet(vd)).dtl_config, { host: null, manual: true });
  t.like(await c.call('vdisk.get_config_params', { vdisk_guid: vd }), { dtl_mode: 'no_sync', dtl_target: [] });
  t.is((await vdiskGet(vd)).dtl_status, 'disabled');
  t.deepEqual(await request(c.nc, 'ovs.model.vdiskdomain.list', { filter: { vdisk_guid: vd } }), []);
  await c.call('vdisk.dtl_checkup', { vdisk_guid: vd });
  t.is((await vdiskGet(vd)).dtl_config?.host, null, 'manually disabled stays disabled');

  // A vDisk with target domains is deleted with its junctions.
  const vd2 = await c.call<string>('vdisk.create_new', { volume_name: 'd2', volume_size: 8 * MiB, storagedriver_guid: c.sds[0]!.guid });
  await c.call('vdisk.set_config_params', { vdisk_guid: vd2, new_config_params: { dtl_mode: 'a_sync', dtl_target: [man.guid] } });
  t.is((await request<unknown[]>(c.nc, 'ovs.model.vdiskdomain.list', { filter: { vdisk_guid: vd2 } })).length, 1);
  await c.call('vdisk.delete', { vdisk_guid: vd2 });
  t.deepEqual(await request(c.nc, 'ovs.model.vdiskdomain.list', { filter: { vdisk_guid: vd2 } }), []);
});

test.serial('a volume made at the data plane (not through a task) gets its vDisk from the volume_create event, and a DTL with it', async (t) => {
  const owner = c.sds[1]!;
  await request(c.nc, voldrvSubject(owner.storagerouter_guid, owner.guid, 'create_volume'), { target_path: '/raw1.raw', volume_size: 8 * MiB });
  const vd = await waitFor('the vDisk of the event', async () => (await request<Array<{ guid: string }>>(c.nc, 'ovs.model.vdisk.list', { filter: { name: 'raw1' } }))[0]?.guid);
  const target = await targetOf(vd);
  t.not(target, owner.storagerouter_guid);
  t.like((await vdiskGet(vd)).dtl_config, { mode: 'Asynchronous', manual: false });
});

test.serial('a DTL node that dies: the volume goes DEGRADED and dtl_state_transition moves its DTL at once', async (t) => {
  const owner = c.sds[0]!;
  const vd = await c.call<string>('vdisk.create_new', { volume_name: 'd3', volume_size: 16 * MiB, storagedriver_guid: owner.guid });
  const target = await targetOf(vd);
  t.regex(await qemuIo(url(owner, 'd3'), 'write -P 0x31 0 1M'), /wrote/);
  await waitFor('d3 ok_sync', async () => (await vdiskGet(vd)).dtl_status === 'ok_sync');
  const dead = c.agents.findIndex((a) => a.guid === target);
  await c.agents[dead]!.kill9AndWait();
  const survivor = c.sds.find((s) => s !== owner && s.storagerouter_guid !== target)!;
  await waitFor('the DTL moved to the surviving node', async () => {
    await qemuIo(url(owner, 'd3'), 'write -P 0x32 0 64k');
    return (await vdiskGet(vd)).dtl_config?.storagerouter_guid === survivor.storagerouter_guid;
  }, 60_000, 500);
  await waitFor('d3 in sync again', async () => (await request<{ info: { failover_mode: string } }>(c.nc, 'ovs.model.vdisk.get', { guid: vd })).info.failover_mode === 'OK_SYNC', 30_000);
  // d3's node has the recovery domain `rec`, whose only node is the dead one: the spec's dtl_status (no liveness in it)
  // says a checkup is required, since the DTL is not where the policy would put it with every node up.
  t.is((await vdiskGet(vd)).dtl_status, 'checkup_required');
});

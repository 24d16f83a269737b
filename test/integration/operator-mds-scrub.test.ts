import test from 'ava';
import { fileURLToPath } from 'node:url';
import { request } from '../../src/client.js';
import type { VpoolScrubState } from '../../src/model/dynamics/vpool.js';
import type { MdsConfigEntry } from '../../src/storagedriver/vdisk-mds-config.js';
import { waitFor } from '../helpers/eventually.js';
import { run } from '../helpers/run.js';
import { startVpoolCluster, type VpoolCluster } from '../helpers/vpool-cluster.js';

/** What an operator reads about MDS services and scrubbing, on three agents: the read API and the CLI. */
let c: VpoolCluster;
let vd = '';
let volumeId = '';
const IPS = ['127.0.0.131', '127.0.0.132', '127.0.0.133'];
const MiB = 1024 * 1024;
const BIN = fileURLToPath(new URL('../../src/bin/ovs.js', import.meta.url));

interface VdiskView {
  volume_id: string;
  mds_config: MdsConfigEntry[] | null;
  scrub_state: { last_scrub: string | null; work_pending: number; running: boolean } | null;
}
interface MdsView {
  guid: string;
  storagerouter_guid: string | null;
  address: string | null;
  load: number | null;
  capacity: number;
  masters: number;
  slaves: number;
  namespaces: { count: number; list: string[] } | null;
}

const vdiskGet = (guid: string): Promise<VdiskView> => request<VdiskView>(c.nc, 'ovs.model.vdisk.get', { guid });
const ovs = (...args: string[]): ReturnType<typeof run> => run(process.execPath, [BIN, ...args, '--nats', c.ns.url]);

test.before(async () => {
  c = await startVpoolCluster({ ips: IPS, vpoolName: 'opool', offlineAfterS: 3600 });
  vd = await c.call<string>('vdisk.create_new', { volume_name: 'm1', volume_size: 16 * MiB, storagedriver_guid: c.sds[0]!.guid });
  await c.call('mds.ensure_safety', { vdisk_guid: vd });
  volumeId = (await vdiskGet(vd)).volume_id;
});

test.after.always(async () => {
  await c?.stop();
});

test.serial('vdisk.get shows the MDS configuration in the volume order: the master on its own node first, then two slaves with their lag', async (t) => {
  const config = await waitFor('three MDS services, master first', async () => {
    const m = (await vdiskGet(vd)).mds_config;
    return m?.length === 3 && m[0]!.role === 'MASTER' && m.slice(1).every((e) => e.role === 'SLAVE') ? m : undefined;
  });
  t.is(config[0]!.storagerouter_guid, c.sds[0]!.storagerouter_guid, 'the master on the node that runs the vDisk');
  t.is(config[0]!.tlogs_behind, 0);
  t.is(new Set(config.map((e) => e.storagerouter_guid)).size, 3, 'one service per node');
  for (const e of config) {
    t.is(typeof e.tlogs_behind, 'number', `${e.address}:${e.port} answers how far behind it is`);
    t.truthy(e.mds_service_guid);
    t.is(e.address, c.sds.find((s) => s.storagerouter_guid === e.storagerouter_guid)!.storage_ip);
  }
  const junctions = await request<Array<{ mds_service_guid: string; is_master: boolean }>>(c.nc, 'ovs.model.mdsservicevdisk.list', { filter: { vdisk_guid: vd } });
  t.is(junctions.find((j) => j.is_master)?.mds_service_guid, config[0]!.mds_service_guid ?? undefined, 'the model names the same master');
});

test.serial('mdsservice.get shows node, address, load of its capacity, masters and slaves, and the namespaces the service holds', async (t) => {
  const listed = await request<Array<{ guid: string }>>(c.nc, 'ovs.model.mdsservice.list', { filter: { vpool_guid: c.vpool } });
  t.is(listed.length, 3);
  const services = await Promise.all(listed.map((m) => request<MdsView>(c.nc, 'ovs.model.mdsservice.get', { guid: m.guid })));
  t.is(services.reduce((n, m) => n + m.masters, 0), 1);
  t.is(services.reduce((n, m) => n + m.slaves, 0), 2);
  for (const m of services) {
    const sd = c.sds.find((s) => s.storagerouter_guid === m.storagerouter_guid);
    t.truthy(sd, 'on a node of the vPool');
    t.regex(String(m.address), new RegExp(`^${sd!.storage_ip.replaceAll('.', '\\.')}:\\d+$`));
    t.is(m.load, (m.masters + m.slaves) / m.capacity * 100);
    t.truthy(m.namespaces?.list.includes(volumeId), `${String(m.address)} holds the vDisk's namespace`);
    t.is(m.namespaces?.count, m.namespaces?.list.length);
  }
});

test.serial('scrub state per vDisk and per vPool', async (t) => {
  const s = (await vdiskGet(vd)).scrub_state;
  t.like(s, { last_scrub: null, running: false });
  t.is(typeof s?.work_pending, 'number');
  const vp = await request<{ scrub_state: VpoolScrubState }>(c.nc, 'ovs.model.vpool.get', { guid: c.vpool });
  t.like(vp.scrub_state, { vdisks: 1, running: 0, last_scrub: null, unknown: 0, work_pending: s!.work_pending });
});

test.serial('the CLI: ovs mds list, ovs mds vdisk, ovs scrub status', async (t) => {
  const list = await ovs('mds', 'list', '--vpool', 'opool', '--json');
  t.is(list.code, 0, list.stderr);
  t.is((JSON.parse(list.stdout) as MdsView[]).length, 3);
  const table = await ovs('mds', 'list');
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /^VPOOL\s+NUMBER\s+ADDRESS\s+STORAGEROUTER\s+LOAD\s+CAPACITY\s+MASTERS\s+SLAVES\s+NAMESPACES/m);
  for (const ip of IPS) t.regex(table.stdout, new RegExp(`opool\\s+\\d+\\s+${ip.replaceAll('.', '\\.')}:\\d+\\s+opool-\\d\\s+[\\d.]+%`));

  const byName = await ovs('mds', 'vdisk', 'm1');
  t.is(byName.code, 0, byName.stderr);
  const rows = byName.stdout.trim().split('\n');
  t.regex(rows[0]!, /^#\s+ADDRESS\s+STORAGEROUTER\s+ROLE\s+TLOGS_BEHIND/);
  t.regex(rows[1]!, new RegExp(`^0\\s+${IPS[0]!.replaceAll('.', '\\.')}:\\d+\\s+opool-0\\s+MASTER\\s+0`));
  t.regex(rows[2]!, /^1\s+\S+\s+opool-\d\s+SLAVE\s+\d+/);
  t.regex(rows[3]!, /^2\s+\S+\s+opool-\d\s+SLAVE\s+\d+/);
  const json = await ovs('mds', 'vdisk', vd, '--json');
  t.deepEqual((JSON.parse(json.stdout) as MdsConfigEntry[]).map((e) => e.role), ['MASTER', 'SLAVE', 'SLAVE']);

  const scrub = await ovs('scrub', 'status', 'opool');
  t.is(scrub.code, 0, scrub.stderr);
  t.regex(scrub.stdout, /^opool\s+never\s+1\s+\d+\s+\d+\s+0\s+0/m);
  const perVdisk = await ovs('scrub', 'status', '--vdisks', '--json');
  t.like((JSON.parse(perVdisk.stdout) as Array<Record<string, unknown>>)[0], { vpool: 'opool', vdisk: 'm1', last_scrub: 'never', running: false });
  const missing = await ovs('mds', 'vdisk', 'nope');
  t.is(missing.code, 1);
  t.regex(missing.stderr, /no vdisk named or with guid 'nope'/);
});

test.serial('the CLI: ovs mds add with an explicit capacity, ovs mds remove of an empty service; one in use is refused', async (t) => {
  const added = await ovs('mds', 'add', 'opool', IPS[1]!, '--capacity', '12', '--json');
  t.is(added.code, 0, added.stderr);
  const created = JSON.parse(added.stdout) as { guid: string; capacity: number; number: number };
  t.is(created.capacity, 12);
  t.is(created.number, 1);
  t.is((JSON.parse((await ovs('mds', 'list', '--vpool', 'opool', '--json')).stdout) as MdsView[]).length, 4);
  const inUse = (JSON.parse((await ovs('mds', 'vdisk', 'm1', '--json')).stdout) as MdsConfigEntry[])[0]!.mds_service_guid!;
  const refused = await ovs('mds', 'remove', inUse);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /MDS_ERROR.*still serves/);
  const removed = await ovs('mds', 'remove', created.guid);
  t.is(removed.code, 0, removed.stderr);
  t.is((JSON.parse((await ovs('mds', 'list', '--vpool', 'opool', '--json')).stdout) as MdsView[]).length, 3);
  const bad = await ovs('mds', 'add', 'opool', IPS[1]!, '--capacity', 'many');
  t.is(bad.code, 1);
  t.regex(bad.stderr, /VALIDATION_FAILED/);
});

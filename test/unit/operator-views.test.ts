import test from 'ava';
import type { NatsConnection } from 'nats';
import { ClusterView } from '../../src/dashboard/cluster-view.js';
import { mdsSummary } from '../../src/dashboard/operator-summary.js';
import type { MdsClient } from '../../src/mds/client.js';
import { ComputedFields } from '../../src/model/computed.js';
import { mdsServiceDynamics } from '../../src/model/dynamics/mdsservice.js';
import { vpoolScrubState, type VdiskScrubState } from '../../src/model/dynamics/vpool.js';
import type { DynamicDef } from '../../src/model/schema.js';
import { MODEL_TYPES } from '../../src/model/types.js';
import { ModelView } from '../../src/model/view.js';
import { vdiskMdsConfig } from '../../src/storagedriver/vdisk-mds-config.js';

/** One vPool on three StorageRouters, an MDS service on each (port 26300 + n), one vDisk with junctions. */
function model(): ModelView {
  const v = new ModelView(MODEL_TYPES);
  let rev = 1;
  const put = (type: string, guid: string, rec: Record<string, unknown>): void => v.apply(type, guid, rev++, rec);
  put('vpool', 'vp', { name: 'pool', status: 'RUNNING' });
  for (const n of [1, 2, 3]) {
    put('storagerouter', `sr${n}`, { name: `node${n}`, ip: `10.0.0.${n}` });
    put('storagedriver', `sd${n}`, { vpool_guid: 'vp', storagerouter_guid: `sr${n}`, storage_ip: `10.0.0.${n}` });
    put('service', `svc${n}`, { name: `metadataserver_pool_${n}`, ports: [26300 + n], storagerouter_guid: `sr${n}` });
    put('mdsservice', `mds${n}`, { number: 0, capacity: n === 3 ? 0 : 4, vpool_guid: 'vp', service_guid: `svc${n}` });
  }
  put('vdisk', 'vd', { name: 'd1', volume_id: 'vol-1', vpool_guid: 'vp', storagedriver_guid: 'sd1' });
  put('vdisk', 'vd2', { name: 'd2', volume_id: 'vol-2', vpool_guid: 'vp', storagedriver_guid: 'sd2' });
  put('mdsservicevdisk', 'j1', { vdisk_guid: 'vd', mds_service_guid: 'mds1', is_master: true });
  put('mdsservicevdisk', 'j2', { vdisk_guid: 'vd', mds_service_guid: 'mds2', is_master: false });
  put('mdsservicevdisk', 'j3', { vdisk_guid: 'vd2', mds_service_guid: 'mds2', is_master: true });
  return v;
}

/** An MDS double: roles and lag per address; an address in `down` rejects every call as an unreachable one would. */
function clients(o: { roles: Record<string, 'MASTER' | 'SLAVE'>; behind: Record<string, number>; down?: string[]; namespaces?: Record<string, string[]> }): (a: string) => MdsClient {
  return (address) => {
    const dead = (): Promise<never> => Promise.reject(new Error(`${address} does not answer`));
    const up = !(o.down ?? []).includes(address);
    return {
      address,
      get_role: async () => (up ? { role: o.roles[address] ?? 'SLAVE', owner_tag: 1 } : dead()),
      catch_up: async () => (up ? { tlogs: o.behind[address] ?? 0, full: false, corkId: null } : dead()),
      list_namespaces: async () => (up ? (o.namespaces?.[address] ?? []) : dead()),
    } as unknown as MdsClient;
  };
}

const NODES = [{ address: '10.0.0.1', port: 26301 }, { address: '10.0.0.2', port: 26302 }, { address: '10.0.0.3', port: 26303 }];

test("vdiskMdsConfig: the volume's order, each entry with its service, node, role; the master 0 behind, slaves their dry-run lag", async (t) => {
  const v = model();
  const config = await vdiskMdsConfig(v, v.get('vdisk', 'vd'), NODES, clients({ roles: { '10.0.0.1:26301': 'MASTER' }, behind: { '10.0.0.1:26301': 9, '10.0.0.2:26302': 3, '10.0.0.3:26303': 0 } }));
  t.deepEqual(config, [
    { address: '10.0.0.1', port: 26301, storagerouter_guid: 'sr1', mds_service_guid: 'mds1', role: 'MASTER', tlogs_behind: 0 },
    { address: '10.0.0.2', port: 26302, storagerouter_guid: 'sr2', mds_service_guid: 'mds2', role: 'SLAVE', tlogs_behind: 3 },
    { address: '10.0.0.3', port: 26303, storagerouter_guid: 'sr3', mds_service_guid: 'mds3', role: 'SLAVE', tlogs_behind: 0 },
  ]);
  const reversed = await vdiskMdsConfig(v, v.get('vdisk', 'vd'), [...NODES].reverse(), clients({ roles: { '10.0.0.3:26303': 'MASTER' }, behind: { '10.0.0.1:26301': 5 } }));
  t.deepEqual(reversed.map((e) => [e.mds_service_guid, e.role, e.tlogs_behind]), [['mds3', 'MASTER', 0], ['mds2', 'SLAVE', 0], ['mds1', 'SLAVE', 5]], 'the order is the volume\'s, not the model\'s');
});

test('vdiskMdsConfig: a service that does not answer is shown as unknown with no lag; an address outside the model has no service', async (t) => {
  const v = model();
  const nodes = [...NODES, { address: '10.9.9.9', port: 1 }];
  const config = await vdiskMdsConfig(v, v.get('vdisk', 'vd'), nodes, clients({ roles: { '10.0.0.1:26301': 'MASTER' }, behind: { '10.0.0.2:26302': 2 }, down: ['10.0.0.3:26303', '10.9.9.9:1'] }));
  t.deepEqual(config.map((e) => [e.role, e.tlogs_behind]), [['MASTER', 0], ['SLAVE', 2], ['unknown', null], ['unknown', null]]);
  t.like(config[3], { storagerouter_guid: null, mds_service_guid: null });
  const masterDown = await vdiskMdsConfig(v, v.get('vdisk', 'vd'), NODES, clients({ roles: {}, behind: {}, down: ['10.0.0.1:26301'] }));
  t.like(masterDown[0], { role: 'unknown', tlogs_behind: null }, 'a master that does not answer is not shown as current');
});

test('mdsservice fields: node, address, load of its capacity, masters and slaves from the junctions, namespaces from the service', async (t) => {
  const v = model();
  const dyn = mdsServiceDynamics(clients({ roles: {}, behind: {}, namespaces: { '10.0.0.2:26302': ['vol-2', 'vol-1'] }, down: ['10.0.0.3:26303'] }));
  const field = async (mds: string, name: string): Promise<unknown> => dyn[name]!.compute(v.get('mdsservice', mds), v);
  t.is(await field('mds2', 'storagerouter_guid'), 'sr2');
  t.is(await field('mds2', 'address'), '10.0.0.2:26302');
  t.is(await field('mds2', 'load'), 50, 'two vDisks of capacity four');
  t.is(await field('mds1', 'load'), 25);
  t.is(await field('mds3', 'load'), null, 'capacity 0: infinite, shown as null');
  t.is(await field('mds2', 'masters'), 1);
  t.is(await field('mds2', 'slaves'), 1);
  t.is(await field('mds1', 'slaves'), 0);
  t.deepEqual(await field('mds2', 'namespaces'), { count: 2, list: ['vol-1', 'vol-2'] });
  t.is(await field('mds3', 'namespaces'), null, 'a service that does not answer');
});

const S = (last_scrub: string | null, work_pending: number, running = false): VdiskScrubState => ({ last_scrub, work_pending, running });

for (const [title, states, expected] of [
  ['no vDisks', [], { vdisks: 0, vdisks_with_work_pending: 0, work_pending: 0, running: 0, last_scrub: null, unknown: 0 }],
  ['never scrubbed, work on one', [S(null, 0), S(null, 2)], { vdisks: 2, vdisks_with_work_pending: 1, work_pending: 2, running: 0, last_scrub: null, unknown: 0 }],
  ['the newest last scrub wins', [S('2024-01-02T00:00:00.000Z', 0), S('2024-01-10T00:00:00.000Z', 1, true), S('2024-01-09T23:00:00.000Z', 0)],
    { vdisks: 3, vdisks_with_work_pending: 1, work_pending: 1, running: 1, last_scrub: '2024-01-10T00:00:00.000Z', unknown: 0 }],
  ['a vDisk that does not answer is counted apart', [S('2024-01-02T00:00:00.000Z', 3), null], { vdisks: 2, vdisks_with_work_pending: 1, work_pending: 3, running: 0, last_scrub: '2024-01-02T00:00:00.000Z', unknown: 1 }],
] as const) {
  test(`vpoolScrubState: ${title}`, (t) => {
    t.deepEqual(vpoolScrubState(states), expected);
  });
}

test('mdsSummary: master, slaves, the worst slave lag; null without a configuration', (t) => {
  t.is(mdsSummary(null), null);
  t.deepEqual(mdsSummary([]), { master: null, master_confirmed: false, slaves: 0, max_tlogs_behind: null, unknown: 0 });
  t.deepEqual(mdsSummary([
    { address: 'a', port: 1, role: 'MASTER', tlogs_behind: 0 }, { address: 'b', port: 2, role: 'SLAVE', tlogs_behind: 4 }, { address: 'c', port: 3, role: 'unknown', tlogs_behind: null },
  ]), { master: 'a:1', master_confirmed: true, slaves: 2, max_tlogs_behind: 4, unknown: 1 });
});

/** ComputedFields over a view whose vdisk type gets the given extra fields. */
function computedWith(extra: Record<string, DynamicDef>): { v: ModelView; c: ComputedFields } {
  const v = model();
  return { v, c: new ComputedFields(v, { vdisk: extra }) };
}

test('an asynchronous computed field: the read API awaits it; a synchronous reader sees its last settled value, null before', async (t) => {
  let n = 0;
  const { v, c } = computedWith({ probe: { ttlMs: 0, compute: async () => ++n } });
  const vd = v.get('vdisk', 'vd');
  t.is(c.expand('vdisk', vd).probe, null, 'nothing settled yet');
  t.is((await c.expandSettled('vdisk', vd)).probe, 2);
  t.is(c.expand('vdisk', vd).probe, 2, 'the last settled value while the next refresh runs');
  await c.expandSettled('vdisk', vd);
  t.is(n, 4);
});

test('an asynchronous field is cached for its TTL (one call for concurrent readers), a change of the object drops it, and a failure reads as null', async (t) => {
  let n = 0;
  const { v, c } = computedWith({
    probe: { ttlMs: 3_600_000, compute: async () => ++n },
    broken: { ttlMs: 0, compute: async () => Promise.reject(new Error('no answer')) },
  });
  const vd = v.get('vdisk', 'vd');
  const [a, b] = await Promise.all([c.expandSettled('vdisk', vd), c.expandSettled('vdisk', vd)]);
  t.is(a.probe, 1);
  t.is(b.probe, 1);
  t.is(a.broken, null);
  v.apply('vdisk', 'vd', 1_000, { ...vd, name: 'renamed' });
  t.is(c.expand('vdisk', v.get('vdisk', 'vd')).probe, 1, 'the old value is shown while the new one is computed');
  t.is((await c.expandSettled('vdisk', v.get('vdisk', 'vd'))).probe, 2);
});

test('the dashboard snapshot: per vDisk the MDS master, slaves and worst lag and its scrub state; per vPool its scrub state', (t) => {
  const v = model();
  const nc = { subscribe: () => ({ unsubscribe: () => undefined }), request: () => Promise.reject(new Error('no responders')) } as unknown as NatsConnection;
  const vpoolScrub = { vdisks: 2, vdisks_with_work_pending: 1, work_pending: 3, running: 0, last_scrub: null, unknown: 0 };
  const expand = (type: string, o: Record<string, unknown> & { guid: string }): Record<string, unknown> => {
    if (type === 'vpool') return { ...o, scrub_state: vpoolScrub };
    return o.guid !== 'vd' ? { ...o, dtl_status: 'ok_standalone', mds_config: null, scrub_state: null } : {
      ...o, dtl_status: 'ok_standalone', scrub_state: { last_scrub: null, work_pending: 3, running: false },
      mds_config: [{ address: '10.0.0.1', port: 26301, role: 'MASTER', tlogs_behind: 0 }, { address: '10.0.0.2', port: 26302, role: 'SLAVE', tlogs_behind: 7 }],
    };
  };
  const snap = new ClusterView(nc, v, 60_000, expand).snapshot();
  t.like(snap.vdisks.find((d) => d.guid === 'vd'), {
    mds: { master: '10.0.0.1:26301', master_confirmed: true, slaves: 1, max_tlogs_behind: 7, unknown: 0 }, scrub: { last_scrub: null, work_pending: 3, running: false },
  });
  t.like(snap.vdisks.find((d) => d.guid === 'vd2'), { mds: null, scrub: null });
  t.deepEqual(snap.vpools[0]!.scrub, vpoolScrub);
});

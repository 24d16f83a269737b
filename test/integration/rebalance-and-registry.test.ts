import test from 'ava';
import type { KV, NatsConnection } from 'nats';
import { request } from '../../src/client.js';
import type { OvsError } from '../../src/errors.js';
import { decode, encode } from '../../src/protocol/codec.js';
import { AgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/eventually.js';
import { qemuIo, startVpoolCluster, type VpoolCluster } from '../helpers/vpool-cluster.js';

/** One vPool on three agent processes sharing a local backend: balances, the cluster registry checkup, refresh_configuration. */
let nc: NatsConnection;
let registry: KV;
let agents: AgentProcess[] = [];
let cluster: VpoolCluster | undefined;
const IPS = ['127.0.0.51', '127.0.0.52', '127.0.0.53'];
const MiB = 1024 * 1024;
let vpool: string;
const sds: Array<{ guid: string; storagedriver_id: string; storage_ip: string; ports: { edge: number } }> = [];

const call = <T = unknown>(task: string, params: Record<string, unknown>): Promise<T> => request<T>(nc, `ovs.task.${task}`, params, { timeoutMs: 120_000 });
const failure = async (p: Promise<unknown>): Promise<OvsError> => p.then(() => { throw new Error('expected a typed error'); }, (e: OvsError) => e);
const nbd = (i: number, name: string): string => `nbd://${sds[i]!.storage_ip}:${sds[i]!.ports.edge}/${name}`;
const ownerIndex = async (vd: string): Promise<number> => {
  const got = await request<{ storagedriver_guid: string }>(nc, 'ovs.model.vdisk.get', { guid: vd });
  return sds.findIndex((s) => s.guid === got.storagedriver_guid);
};


async function newVdisk(name: string, node: number, pattern: number): Promise<string> {
  const vd = await call<string>('vdisk.create_new', { volume_name: name, volume_size: 8 * MiB, storagedriver_guid: sds[node]!.guid });
  const out = await qemuIo(nbd(node, name), `write -P ${pattern} 0 2M`);
  if (!/wrote 2097152/.test(out)) throw new Error(`write to ${name}: ${out}`);
  return vd;
}

/** The cluster configuration as the registry bucket holds it, changed by `fn` (a test stands in for a stale or lost write). */
async function editClusterConfiguration(fn: (c: Record<string, { state: string }>) => void): Promise<void> {
  const e = (await registry.get('cluster_configuration'))!;
  const c = JSON.parse(Buffer.from(e.value).toString()) as Record<string, { state: string }>;
  fn(c);
  await registry.update('cluster_configuration', Buffer.from(JSON.stringify(c)), e.revision);
}

const nodeStates = (i: number): Promise<Record<string, string>> => request(nc, `ovs.node.${agents[i]!.guid}.voldrv.${sds[i]!.guid}.node_states`, {});

test.before(async () => {
  cluster = await startVpoolCluster({ ips: IPS, vpoolName: 'rbpool', offlineAfterS: 3600 });
  ({ nc, agents, vpool } = cluster);
  sds.push(...cluster.sds);
  registry = await nc.jetstream().views.kv(`ovs_registry_${vpool}`, { bindOnly: true });
});

test.after.always(async () => {
  await cluster?.stop();
});

test.serial('balance_change executes exported balances: 4 vDisks of node 0 spread over the vPool, readable at their new owners', async (t) => {
  const vds: string[] = [];
  for (let i = 0; i < 4; i++) vds.push(await newVdisk(`rb${i}`, 0, 0x40 + i));
  const sorted = [...vds].sort();
  const [keep0, keep1, to1, to2] = sorted as [string, string, string, string];
  const balances = [
    { storagedriver_guid: sds[0]!.guid, hosted_guids: sorted, limit: 2, balance: [keep0, keep1], overflow: [to1, to2], added: [] },
    { storagedriver_guid: sds[1]!.guid, hosted_guids: [], limit: 1, balance: [], overflow: [], added: [to1] },
    { storagedriver_guid: sds[2]!.guid, hosted_guids: [], limit: 1, balance: [], overflow: [], added: [to2] },
  ];

  // Bad input first: nothing moves.
  t.is((await failure(call('vpool.balance_change', { vpool_guid: vpool, exported_balances: [...balances.slice(0, 2), { ...balances[2]!, added: [to1, to2] }] }))).type, 'VPOOL_ERROR');
  t.is((await failure(call('vpool.balance_change', { vpool_guid: vpool, exported_balances: [...balances, { ...balances[2]!, storagedriver_guid: 'no-such-sd' }] }))).type, 'OBJECT_NOT_FOUND');
  t.is((await failure(call('vpool.balance_change', { vpool_guid: vpool, exported_balances: balances, execute_only_for_srs: ['no-such-sr'] }))).type, 'OBJECT_NOT_FOUND');
  t.is((await failure(call('vpool.balance_change', { vpool_guid: vpool, exported_balances: [{ storagedriver_guid: sds[0]!.guid }] }))).type, 'VALIDATION_FAILED');
  t.deepEqual(await Promise.all(vds.map(ownerIndex)), [0, 0, 0, 0]);

  // Only for node 1, which gives nothing away: nothing to do.
  t.deepEqual(await call('vpool.balance_change', { vpool_guid: vpool, exported_balances: balances, execute_only_for_srs: [agents[1]!.guid] }), { vpool_guid: vpool, moved: 0 });

  const r = await call<{ moved: number; moves: Record<string, string> }>('vpool.balance_change', { vpool_guid: vpool, exported_balances: balances });
  t.deepEqual(r, { vpool_guid: vpool, moved: 2, moves: { [to1]: agents[1]!.guid, [to2]: agents[2]!.guid } });
  const owners = new Map(await Promise.all(vds.map(async (v) => [v, await ownerIndex(v)] as const)));
  t.deepEqual([owners.get(keep0), owners.get(keep1), owners.get(to1), owners.get(to2)], [0, 0, 1, 2]);
  for (const [i, v] of vds.entries()) {
    const out = await qemuIo(nbd(owners.get(v)!, `rb${i}`), `read -P ${0x40 + i} 0 2M`);
    t.regex(out, /read 2097152/, `rb${i} at node ${owners.get(v)}`);
    t.notRegex(out, /fail|error/i, `rb${i} at node ${owners.get(v)}`);
  }

  // The same balances again: the vDisks are where they should be.
  t.deepEqual(await call('vpool.balance_change', { vpool_guid: vpool, exported_balances: balances }), {
    vpool_guid: vpool, moved: 0, skipped: { [to1]: 'already on its destination', [to2]: 'already on its destination' },
  });
});

test.serial('balance_change with no balances spreads the vPool evenly itself, with the fewest moves', async (t) => {
  // 2, 1, 1 is as even as 4 vDisks on 3 nodes get.
  t.deepEqual(await call('vpool.balance_change', { vpool_guid: vpool, exported_balances: [] }), { vpool_guid: vpool, moved: 0 });
  await newVdisk('rb4', 1, 0x50);
  await newVdisk('rb5', 1, 0x51);
  const list = (): Promise<Array<{ guid: string; name: string; storagedriver_guid: string }>> => request(nc, 'ovs.model.vdisk.list', { filter: { vpool_guid: vpool } });
  const before = await list();
  const r = await call<{ moved: number; moves: Record<string, string> }>('vpool.balance_change', { vpool_guid: vpool, exported_balances: [] });
  t.is(r.moved, 1, JSON.stringify(r));
  const [movedVdisk, target] = Object.entries(r.moves)[0]!;
  t.is(target, agents[2]!.guid, 'to the node with the fewest');
  t.is(before.find((v) => v.guid === movedVdisk)!.storagedriver_guid, sds[1]!.guid, 'from the node with the most');
  const after = await list();
  t.deepEqual(sds.map((s) => after.filter((v) => v.storagedriver_guid === s.guid).length), [2, 2, 2]);
  const name = after.find((v) => v.guid === movedVdisk)!.name;
  const pattern = name === 'rb4' ? 0x50 : name === 'rb5' ? 0x51 : 0x40 + Number(name.slice(2));
  t.notRegex(await qemuIo(nbd(2, name), `read -P ${pattern} 0 2M`), /fail|error/i);
});

test.serial('refresh_configuration lists what differs from what the running StorageDriver uses, and what it does not use', async (t) => {
  const clean = await call<{ changes: number; differences: unknown[]; not_used_here: string[] }>('storagedriver.refresh_configuration', { storagedriver_guid: sds[0]!.guid });
  t.is(clean.changes, 0);
  t.deepEqual(clean.differences, []);
  t.true(clean.not_used_here.includes('write_buffer') && clean.not_used_here.includes('dtl_mode'), clean.not_used_here.join(','));
  // A configuration edited behind the running StorageDriver's back.
  const model = await nc.jetstream().views.kv('ovs_model');
  const entry = (await model.get(`vpool.${vpool}`))!;
  const obj = decode(entry.value) as { metadata: { configuration: { tlog_multiplier: number } } };
  const old = obj.metadata.configuration.tlog_multiplier;
  obj.metadata.configuration.tlog_multiplier = old * 2;
  await model.update(`vpool.${vpool}`, encode(obj), entry.revision);
  const changed = await waitFor('the edit seen', async () => {
    const r = await call<{ changes: number; differences: Array<{ param_name: string; old_value: unknown; new_value: unknown; takes_effect: string }> }>('storagedriver.refresh_configuration', { storagedriver_guid: sds[1]!.guid });
    return r.changes > 0 ? r : undefined;
  });
  t.is(changed.changes, 1);
  t.like(changed.differences[0], { param_name: 'tlog_multiplier', old_value: old, new_value: old * 2 });
  t.regex(changed.differences[0]!.takes_effect, /restart/);
  obj.metadata.configuration.tlog_multiplier = old;
  await model.put(`vpool.${vpool}`, encode(obj));
  t.is((await failure(call('storagedriver.refresh_configuration', { storagedriver_guid: 'no-such-sd' }))).type, 'OBJECT_NOT_FOUND');
});

type Checkup = Record<string, { changes: boolean; success: boolean; error?: string; added: Record<string, string>; set_online: string[]; removed: string[]; stale_kept: Record<string, string[]>; not_answering: string[] }>;
const checkup = (): Promise<Checkup> => call<Checkup>('storagedriver.cluster_registry_checkup', {});
const ids = (): string[] => sds.map((s) => s.storagedriver_id);

test.serial('cluster_registry_checkup makes the registry list exactly the model\'s StorageDrivers', async (t) => {
  const quiet = { changes: false, success: true, added: {}, set_online: [], removed: [], stale_kept: {}, not_answering: [] };
  t.deepEqual((await checkup())[vpool], quiet, 'all three ONLINE: nothing to do');

  // A lost entry, an OFFLINE node that answers, a node the model no longer has, and one that volumes still name.
  await editClusterConfiguration((c) => {
    delete c[ids()[0]!];
    c[ids()[1]!] = { state: 'OFFLINE' };
    c.ghost = { state: 'ONLINE' };
    c['ghost-owner'] = { state: 'OFFLINE' };
  });
  const reg = { object_id: 'ghost-vol', namespace: 'ghost-vol', node_id: 'ghost-owner', object_type: 'BASE', target_path: '/ghost-vol.raw', parent_volume: null, parent_snapshot: null, descendants: {}, owner_tag: 0 };
  await registry.put('reg.ghost-vol', Buffer.from(JSON.stringify(reg)));
  await waitFor('the edit reaches the StorageDrivers', async () => (await Promise.all([0, 1, 2].map(nodeStates))).every((s) => s.ghost === 'ONLINE' && !(ids()[0]! in s)));
  t.deepEqual((await checkup())[vpool], {
    ...quiet, changes: true, added: { [ids()[0]!]: 'ONLINE' }, set_online: [ids()[1]!], removed: ['ghost'], stale_kept: { 'ghost-owner': ['ghost-vol'] },
  });
  await waitFor('every StorageDriver sees the repaired registry', async () => {
    const states = await nodeStates(2);
    return states[ids()[0]!] === 'ONLINE' && states[ids()[1]!] === 'ONLINE' && !('ghost' in states);
  });
  await registry.delete('reg.ghost-vol');
  t.like((await checkup())[vpool], { changes: true, removed: ['ghost-owner'], stale_kept: {} });

  // A node that is down: its ONLINE entry is the failure detector's to change; a missing one is written OFFLINE.
  await agents[2]!.stop();
  t.deepEqual((await checkup())[vpool], { ...quiet, not_answering: [sds[2]!.guid] });
  await editClusterConfiguration((c) => delete c[ids()[2]!]);
  await waitFor('the entry gone at node 0', async () => !(ids()[2]! in (await nodeStates(0))));
  t.deepEqual((await checkup())[vpool], { ...quiet, changes: true, added: { [ids()[2]!]: 'OFFLINE' }, not_answering: [sds[2]!.guid] });
  t.is((await nodeStates(0))[ids()[2]!], 'OFFLINE');
});

import { join } from 'node:path';
import test from 'ava';
import type { NatsConnection } from 'nats';
import { request, requestRaw } from '../../src/client.js';
import type { OvsError } from '../../src/errors.js';
import { H } from '../../src/protocol/headers.js';
import { AgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/eventually.js';
import type { NatsServer } from '../helpers/nats-server.js';
import { qemuIo, startVpoolCluster, type VpoolCluster } from '../helpers/vpool-cluster.js';

/** One vPool on three agent processes (each its own loopback address), sharing a local backend directory. */
let ns: NatsServer;
let nc: NatsConnection;
let agents: AgentProcess[] = [];
let cluster: VpoolCluster | undefined;
const IPS = ['127.0.0.21', '127.0.0.22', '127.0.0.23'];
const MiB = 1024 * 1024;
let vpool: string;
const sds: Array<{ guid: string; storage_ip: string; ports: { edge: number } }> = [];

const call = <T = unknown>(task: string, params: Record<string, unknown>): Promise<T> => request<T>(nc, `ovs.task.${task}`, params, { timeoutMs: 90_000 });
const failure = async (p: Promise<unknown>): Promise<OvsError> => p.then(() => { throw new Error('expected a typed error'); }, (e: OvsError) => e);
const nbd = (i: number, name: string): string => `nbd://${sds[i]!.storage_ip}:${sds[i]!.ports.edge}/${name}`;

test.before(async () => {
  cluster = await startVpoolCluster({ ips: IPS, vpoolName: 'cpool', offlineAfterS: 3600 });
  ({ ns, nc, agents, vpool } = cluster);
  sds.push(...cluster.sds);
});

test.after.always(async () => {
  await cluster?.stop();
});

test.serial('one vPool on three nodes: each StorageDriver listens on its own node address', (t) => {
  t.deepEqual(sds.map((s) => s.storage_ip), IPS);
});

test.serial('a vDisk on node 1, created through any agent, is listed, read and snapshotted the same from every agent', async (t) => {
  const vd = await call<string>('vdisk.create_new', { volume_name: 'shared1', volume_size: 16 * MiB, storagedriver_guid: sds[1]!.guid });
  t.regex(await qemuIo(nbd(1, 'shared1'), 'write -P 0x31 0 4M'), /wrote 4194304/);
  const volumeId = (await request<{ volume_id: string }>(nc, 'ovs.model.vdisk.get', { guid: vd })).volume_id;
  const servedBy = new Set<string>();
  for (let i = 0; i < 12; i++) {
    const { body, headers } = await requestRaw(nc, 'ovs.task.vdisk.list_volumes', { vpool_guid: vpool });
    t.true(body.ok);
    t.true((body.result as string[]).includes(volumeId), `list_volumes through ${headers?.get(H.servedBy)}`);
    servedBy.add(String(headers?.get(H.servedBy)));
  }
  t.true(servedBy.size > 1, 'the answers came from more than one agent');
  const snap = await call<string>('vdisk.create_snapshot', { vdisk_guid: vd, metadata: { label: 's1', timestamp: '1700000000', is_consistent: true } });
  await waitFor('snapshot in the backend', () => call<boolean>('vdisk.is_volume_synced_up_to_snapshot', { vdisk_guid: vd, snapshot_id: snap }));
  for (let i = 0; i < 9; i++) {
    const got = await request<{ snapshots: Array<{ guid: string }>; info: { live_status: string } }>(nc, 'ovs.model.vdisk.get', { guid: vd });
    t.deepEqual(got.snapshots.map((s) => s.guid), [snap], `snapshots on try ${i}`);
    t.is(got.info.live_status, 'RUNNING');
  }
  t.deepEqual(await call('vdisk.sync_with_reality', { vpool_guid: vpool }), { created: 0, removed: 0 }, 'model and every data plane agree');
});

test.serial('clone and create_from_template onto another node read the parent\'s snapshot there', async (t) => {
  const parent = (await request<Array<{ guid: string; name: string }>>(nc, 'ovs.model.vdisk.list', {})).find((v) => v.name === 'shared1')!;
  const snaps = (await request<{ snapshots: Array<{ guid: string }> }>(nc, 'ovs.model.vdisk.get', { guid: parent.guid })).snapshots;
  const clone = await call<{ vdisk_guid: string }>('vdisk.clone', { vdisk_guid: parent.guid, name: 'shared1-clone', snapshot_id: snaps[0]!.guid, storagerouter_guid: agents[2]!.guid });
  // Model views follow the KV watch: an agent other than the writer may answer a moment behind.
  const got = await waitFor('the clone in the model with its parent', async () => {
    const v = await request<{ storagedriver_guid: string; parent_vdisk_guid: string | null }>(nc, 'ovs.model.vdisk.get', { guid: clone.vdisk_guid });
    return v.parent_vdisk_guid ? v : undefined;
  });
  t.is(got.storagedriver_guid, sds[2]!.guid, 'the clone lives on node 2');
  t.is(got.parent_vdisk_guid, parent.guid);
  const read = await qemuIo(nbd(2, 'shared1-clone'), 'read -P 0x31 0 4M');
  t.regex(read, /read 4194304/);
  t.notRegex(read, /fail/i);
  // Writes to the clone stay the clone's; the parent keeps its bytes.
  t.regex(await qemuIo(nbd(2, 'shared1-clone'), 'write -P 0x77 0 1M'), /wrote/);
  t.notRegex(await qemuIo(nbd(1, 'shared1'), 'read -P 0x31 0 4M'), /fail/i);

  const tpl = await call<string>('vdisk.create_new', { volume_name: 'tpl1', volume_size: 8 * MiB, storagedriver_guid: sds[0]!.guid });
  t.regex(await qemuIo(nbd(0, 'tpl1'), 'write -P 0x44 0 2M'), /wrote/);
  await call('vdisk.set_as_template', { vdisk_guid: tpl });
  const child = await call<{ vdisk_guid: string }>('vdisk.create_from_template', { vdisk_guid: tpl, name: 'from-tpl', storagerouter_guid: agents[1]!.guid });
  t.is((await request<{ storagedriver_guid: string }>(nc, 'ovs.model.vdisk.get', { guid: child.vdisk_guid })).storagedriver_guid, sds[1]!.guid);
  t.notRegex(await qemuIo(nbd(1, 'from-tpl'), 'read -P 0x44 0 2M'), /fail/i);

  // A node that does not serve the vPool is refused, and nothing is created.
  const before = (await request<unknown[]>(nc, 'ovs.model.vdisk.list', {})).length;
  const outsider = await AgentProcess.start({ natsUrl: ns.url, name: 'outsider', ip: '127.0.0.24' });
  agents.push(outsider);
  t.is((await failure(call('vdisk.clone', { vdisk_guid: parent.guid, name: 'nowhere', storagerouter_guid: outsider.guid }))).type, 'VPOOL_ERROR');
  t.is((await failure(call('vdisk.clone', { vdisk_guid: parent.guid, name: 'nowhere', storagerouter_guid: 'no-such-sr' }))).type, 'OBJECT_NOT_FOUND');
  t.is((await request<unknown[]>(nc, 'ovs.model.vdisk.list', {})).length, before);
});

test.serial('I18: a move under write load loses no acknowledged write; owner_changed, registry and model follow; no local data left at the source', async (t) => {
  const vd = await call<string>('vdisk.create_new', { volume_name: 'mv1', volume_size: 32 * MiB, storagedriver_guid: sds[0]!.guid });
  const volumeId = (await request<{ volume_id: string }>(nc, 'ovs.model.vdisk.get', { guid: vd })).volume_id;
  const acked: Array<{ offset: number; pattern: number }> = [];
  let target = 0;
  let moved = false;
  let reconnects = 0;
  // The client writes 1 MiB blocks with flush; a write that fails was not acknowledged and is retried at the owner the model names.
  const writer = (async () => {
    for (let block = 0; block < 24; block++) {
      const pattern = 0x10 + block;
      for (;;) {
        const out = await qemuIo(nbd(target, 'mv1'), `write -P ${pattern} ${block * MiB} 1M`).catch((e: unknown) => String(e));
        if (/wrote 1048576/.test(out) && !/error|fail/i.test(out)) break;
        reconnects++;
        const owner = (await request<{ storagedriver_guid: string }>(nc, 'ovs.model.vdisk.get', { guid: vd })).storagedriver_guid;
        target = sds.findIndex((x) => x.guid === owner);
        await new Promise((r) => setTimeout(r, 50));
        if (reconnects > 200) throw new Error(`block ${block} never written: ${out}`);
      }
      acked.push({ offset: block * MiB, pattern });
      if (block === 6) moved = true;
    }
  })();
  await waitFor('a few writes before the move', () => moved);
  await call('vdisk.move', { vdisk_guid: vd, target_storagerouter_guid: agents[1]!.guid, force: false });
  await writer;
  t.is(acked.length, 24);
  const got = await request<{ storagedriver_guid: string; info: { live_status: string } }>(nc, 'ovs.model.vdisk.get', { guid: vd });
  t.is(got.storagedriver_guid, sds[1]!.guid, 'the model names the new owner');
  t.is(got.info.live_status, 'RUNNING');
  for (const { offset, pattern } of acked) {
    const out = await qemuIo(nbd(1, 'mv1'), `read -P ${pattern} ${offset} 1M`);
    t.notRegex(out, /fail/i, `block at ${offset / MiB} MiB`);
  }
  t.true(reconnects > 0 || target === 1, 'the writer ended at the new owner');
  // The old owner no longer serves the volume itself (its edge forwards clients to the new owner) nor keeps its data.
  t.notRegex(await qemuIo(nbd(0, 'mv1'), `read -P ${0x10 + 23} ${23 * MiB} 1M`), /fail|error/i);
  t.regex(agents[0]!.log.join(''), /"export":"mv1","target":"127\.0\.0\.22:\d+".*forwarding to the owner/);
  const { existsSync } = await import('node:fs');
  for (const kind of ['wc', 'tlogs', 'md']) t.false(existsSync(join(agents[0]!.dataDir, 'vpools', vpool, kind, volumeId)), `${kind} left at the source`);
  // owner_changed reached the model through migrate_from_voldrv too: moving back and forth keeps it right.
  await call('vdisk.move_multiple', { vdisk_guids: [vd], target_storagerouter_guid: agents[0]!.guid, force: false });
  t.is((await request<{ storagedriver_guid: string }>(nc, 'ovs.model.vdisk.get', { guid: vd })).storagedriver_guid, sds[0]!.guid);
  t.notRegex(await qemuIo(nbd(0, 'mv1'), `read -P ${0x10 + 23} ${23 * MiB} 1M`), /fail/i);
});

test.serial('moves that cannot be: unknown and non-member StorageRouters are refused and nothing changes', async (t) => {
  const vd = (await waitFor('mv1 in the model', async () => (await request<Array<{ guid: string; name: string }>>(nc, 'ovs.model.vdisk.list', {})).find((v) => v.name === 'mv1'))).guid;
  const before = await request<{ storagedriver_guid: string }>(nc, 'ovs.model.vdisk.get', { guid: vd });
  t.is((await failure(call('vdisk.move', { vdisk_guid: vd, target_storagerouter_guid: 'no-such-sr' }))).type, 'OBJECT_NOT_FOUND');
  t.is((await failure(call('vdisk.move', { vdisk_guid: vd, target_storagerouter_guid: agents[3]!.guid }))).type, 'VPOOL_ERROR');
  t.is((await request<{ storagedriver_guid: string }>(nc, 'ovs.model.vdisk.get', { guid: vd })).storagedriver_guid, before.storagedriver_guid);
  t.notRegex(await qemuIo(nbd(0, 'mv1'), `read -P ${0x10} 0 1M`), /fail/i, 'still served by its owner');
});

test.serial('the same life cycle on the nats backend: create, write, snapshot, rollback, clone elsewhere, move, delete', async (t) => {
  const r = await call<{ vpool_guid: string; storagedriver_guid: string }>('storagerouter.add_vpool', { parameters: { vpool_name: 'npool', storagerouter_ip: IPS[0]!, backend_info: { type: 'nats' } } });
  const r1 = await call<{ storagedriver_guid: string }>('storagerouter.add_vpool', { parameters: { vpool_name: 'npool', storagerouter_ip: IPS[1]!, backend_info: { type: 'nats' } } });
  const [a, b] = await Promise.all([r.storagedriver_guid, r1.storagedriver_guid].map((g) => request<{ guid: string; storage_ip: string; ports: { edge: number } }>(nc, 'ovs.model.storagedriver.get', { guid: g })));
  const at = (sd: { storage_ip: string; ports: { edge: number } }, name: string): string => `nbd://${sd.storage_ip}:${sd.ports.edge}/${name}`;
  const vd = await call<string>('vdisk.create_new', { volume_name: 'nv1', volume_size: 16 * MiB, storagedriver_guid: a!.guid });
  t.regex(await qemuIo(at(a!, 'nv1'), 'write -P 0x21 0 4M'), /wrote/);
  const snap = await call<string>('vdisk.create_snapshot', { vdisk_guid: vd, metadata: { label: 'n1', timestamp: 1_700_000_500, is_consistent: true } });
  await waitFor('snapshot in the nats backend', () => call<boolean>('vdisk.is_volume_synced_up_to_snapshot', { vdisk_guid: vd, snapshot_id: snap }));
  t.regex(await qemuIo(at(a!, 'nv1'), 'write -P 0x22 0 1M'), /wrote/);
  t.true(await call<boolean>('vdisk.rollback', { vdisk_guid: vd, timestamp: 1_700_000_500 }));
  t.notRegex(await qemuIo(at(a!, 'nv1'), 'read -P 0x21 0 4M'), /fail/i, 'rolled back');
  const clone = await call<{ vdisk_guid: string }>('vdisk.clone', { vdisk_guid: vd, name: 'nv1-clone', snapshot_id: snap, storagerouter_guid: agents[1]!.guid });
  t.notRegex(await qemuIo(at(b!, 'nv1-clone'), 'read -P 0x21 0 4M'), /fail/i, 'the clone on the other node reads the snapshot');
  await call('vdisk.delete', { vdisk_guid: clone.vdisk_guid });
  await call('vdisk.move', { vdisk_guid: vd, target_storagerouter_guid: agents[1]!.guid });
  t.notRegex(await qemuIo(at(b!, 'nv1'), 'read -P 0x21 0 4M'), /fail/i, 'moved with its data');
  await call('vdisk.delete', { vdisk_guid: vd });
  t.deepEqual(await call('vdisk.list_volumes', { vpool_guid: r.vpool_guid }), []);
});

test.serial('a node that is down: list_volumes still lists every volume; sync_with_reality leaves its vDisks alone and says so', async (t) => {
  const victim = agents[2]!;
  const listed = await call<string[]>('vdisk.list_volumes', { vpool_guid: vpool });
  const vdisksBefore = (await request<Array<{ guid: string }>>(nc, 'ovs.model.vdisk.list', {})).length;
  await victim.kill9AndWait();
  await waitFor('node 2 gone from NATS', async () => {
    const r = await call<{ unreachable?: string[] }>('vdisk.sync_with_reality', { vpool_guid: vpool });
    return r.unreachable ? r : undefined;
  });
  t.like(await call('vdisk.sync_with_reality', { vpool_guid: vpool }), { created: 0, removed: 0, unreachable: [sds[2]!.guid] });
  t.deepEqual((await call<string[]>('vdisk.list_volumes', { vpool_guid: vpool })).sort(), [...listed].sort(), 'the shared registry still lists node 2\'s volumes');
  t.is((await request<unknown[]>(nc, 'ovs.model.vdisk.list', {})).length, vdisksBefore, 'no vDisk left the model');
  // A move to the node that is down is refused before anything changes: the vDisk stays served where it is.
  const mv = (await request<Array<{ guid: string; name: string; storagedriver_guid: string }>>(nc, 'ovs.model.vdisk.list', {})).find((v) => v.name === 'mv1')!;
  t.is((await failure(call('vdisk.move', { vdisk_guid: mv.guid, target_storagerouter_guid: victim.guid }))).type, 'NOT_AVAILABLE');
  t.is((await request<{ storagedriver_guid: string }>(nc, 'ovs.model.vdisk.get', { guid: mv.guid })).storagedriver_guid, mv.storagedriver_guid);
  t.notRegex(await qemuIo(nbd(0, 'mv1'), `read -P ${0x10} 0 1M`), /fail/i);
});

import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { BUCKETS } from '../../src/agent.js';
import { join } from 'node:path';
import test from 'ava';
import type { NatsConnection } from 'nats';
import { request } from '../../src/client.js';
import type { DtlMode, DtlReplay } from '../../src/dataplane/dtl/config.js';
import type { OvsError } from '../../src/errors.js';
import { decode } from '../../src/protocol/codec.js';
import { eventSubject, opsSubject, voldrvSubject } from '../../src/protocol/subjects.js';
import { AgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/eventually.js';
import { run } from '../helpers/run.js';
import { qemuIo, startVpoolCluster, type ClusterStorageDriver, type VpoolCluster } from '../helpers/vpool-cluster.js';

/** The DTL through real agent processes: a vDisk's acknowledged writes survive kill -9 of its owner. */
let cluster: VpoolCluster | undefined;
let nc: NatsConnection;
const IPS = ['127.0.0.71', '127.0.0.72', '127.0.0.73'];
const MiB = 1024 * 1024;
// Two 4 MiB SCOs and no full TLog: the backend alone has none of it, so every byte that comes back came from the DTL.
const SIZE = 8 * MiB;
let sds: ClusterStorageDriver[] = [];

const call = <T = unknown>(task: string, params: Record<string, unknown>, timeoutMs = 90_000): Promise<T> => request<T>(nc, `ovs.task.${task}`, params, { timeoutMs });
const voldrv = <T = unknown>(sd: ClusterStorageDriver, method: string, args: Record<string, unknown>): Promise<T> => request<T>(nc, voldrvSubject(sd.storagerouter_guid, sd.guid, method), args);
const failure = async (p: Promise<unknown>): Promise<OvsError> => p.then(() => { throw new Error('expected a typed error'); }, (e: OvsError) => e);
const url = (sd: ClusterStorageDriver, name: string): string => `nbd://${sd.storage_ip}:${sd.ports.edge}/${name}`;
const sdOf = (guid: string): ClusterStorageDriver => sds.find((s) => s.guid === guid)!;
// Short: a request that reached an agent just as it was killed gets no answer; the poll asks again.
const vdiskOf = (guid: string): Promise<{ storagedriver_guid: string; volume_id: string }> => request(nc, 'ovs.model.vdisk.get', { guid }, { timeoutMs: 10_000 });

/** A new vDisk on `owner` whose DTL is `dtl`'s StorageDriver in `mode`, once its owner says OK_SYNC. */
async function protectedVdisk(name: string, owner: ClusterStorageDriver, dtl: ClusterStorageDriver, mode: DtlMode = 'Synchronous'): Promise<{ guid: string; volumeId: string }> {
  const guid = await call<string>('vdisk.create_new', { volume_name: name, volume_size: SIZE, storagedriver_guid: owner.guid });
  const volumeId = (await vdiskOf(guid)).volume_id;
  await voldrv(owner, 'set_manual_dtl_config', { volume_id: volumeId, config: { host: dtl.storage_ip, port: dtl.ports.dtl, mode } });
  await waitFor('OK_SYNC', async () => (await voldrv<{ failover_mode: string }>(owner, 'info_volume', { volume_id: volumeId })).failover_mode === 'OK_SYNC');
  return { guid, volumeId };
}

/** Random bytes from offset 0 with nbdcopy (without `flush`: acknowledged writes, nothing forced out). */
async function writeRandom(target: string, o: { size?: number; flush?: boolean } = {}): Promise<Buffer> {
  const data = randomBytes(o.size ?? SIZE);
  const file = join(cluster!.dir, `src-${data.readUInt32LE(0)}.bin`);
  await writeFile(file, data);
  const r = await run('nbdcopy', [...(o.flush ? ['--flush'] : []), file, target]);
  await rm(file, { force: true });
  if (r.code !== 0) throw new Error(`nbdcopy to ${target}: ${r.stderr}`);
  return data;
}

async function readAll(source: string): Promise<Buffer> {
  const file = join(cluster!.dir, `dst-${randomBytes(4).toString('hex')}.bin`);
  const r = await run('nbdcopy', [source, file]);
  if (r.code !== 0) throw new Error(`nbdcopy from ${source}: ${r.stderr}`);
  const data = await readFile(file);
  await rm(file, { force: true });
  return data;
}

function firstDifference(a: Buffer, b: Buffer): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** Waits until the vDisk's model names another StorageDriver than `from`, and that one serves its export. */
async function failedOverFrom(guid: string, from: ClusterStorageDriver, name: string): Promise<ClusterStorageDriver> {
  const to = await waitFor('the vDisk owned by another node', async () => {
    const now = (await vdiskOf(guid)).storagedriver_guid;
    return now !== from.guid ? sdOf(now) : undefined;
  }, 60_000, 200);
  await waitFor('its export answering at the new owner', async () => (await run('nbdinfo', ['--size', url(to, name)])).code === 0, 15_000, 200);
  return to;
}

test.before(async () => {
  cluster = await startVpoolCluster({ ips: IPS, vpoolName: 'dtlc', offlineAfterS: 2, keepDataDirs: true });
  nc = cluster.nc;
  sds = cluster.sds;
});

test.after.always(async () => {
  await cluster?.stop();
});

test.serial('I14 through agents: kill -9 of the owner after acknowledged writes; the new owner replays the sync DTL and has every byte', async (t) => {
  const [, b, c] = sds as [ClusterStorageDriver, ClusterStorageDriver, ClusterStorageDriver];
  const vd = await protectedVdisk('i14', b, c);
  const failovers: Array<Record<string, unknown>> = [];
  const sub = nc.subscribe(eventSubject('vdisk', 'failover'), { callback: (_e, m) => failovers.push(decode(m.data, 'msgpack') as Record<string, unknown>) });
  const written = await writeRandom(url(b, 'i14'));
  t.false((await voldrv<{ halted: boolean }>(b, 'info_volume', { volume_id: vd.volumeId })).halted);

  await cluster!.agents[1]!.kill9AndWait();
  const to = await failedOverFrom(vd.guid, b, 'i14');
  const replay = await voldrv<DtlReplay | null>(to, 'dtl_replay', { volume_id: vd.volumeId });
  t.is(replay?.status, 'replayed', JSON.stringify(replay));
  t.true((replay?.entries ?? 0) > 0, 'the DTL had entries the backend lacked');
  t.like(replay, { host: c.storage_ip, port: c.ports.dtl });
  const back = await readAll(url(to, 'i14'));
  t.is(firstDifference(back, written), -1, 'every acknowledged byte at the new owner');
  await waitFor('the failover event', () => failovers.find((e) => e.vdisk_guid === vd.guid));
  sub.unsubscribe();
  t.like(failovers.find((e) => e.vdisk_guid === vd.guid), { from: b.storagerouter_guid, to: to.storagerouter_guid });
});

test.serial('owner and its DTL node killed together: the vDisk comes back from the backend alone and says its DTL was unavailable', async (t) => {
  // The killed owner of the previous test comes back, so three nodes run again.
  const c = cluster!;
  c.agents[1] = await AgentProcess.start({ natsUrl: c.ns.url, name: 'dtlc-1', ip: IPS[1]!, dataDir: join(c.dir, 'agent-1') });
  await waitFor('node 1 ONLINE', async () => (await voldrv<Record<string, string>>(sds[0]!, 'node_states', {}))[sds[1]!.storagedriver_id] === 'ONLINE');
  await waitFor('node 1 serving NBD', async () => (await run('nbdinfo', ['--list', url(sds[1]!, '')])).code === 0, 15_000, 200);
  for (const v of await request<Array<{ guid: string }>>(nc, 'ovs.model.vdisk.list', {})) await call('vdisk.delete', { vdisk_guid: v.guid });
  // mark_offline places the orphan on the least loaded StorageDriver, ties by guid; the survivor must win that tie
  // (a dead DTL node is still a candidate there: see the report).
  const [survivor, owner, dtl] = [...sds].sort((x, y) => (x.guid < y.guid ? -1 : 1)) as [ClusterStorageDriver, ClusterStorageDriver, ClusterStorageDriver];
  const vd = await protectedVdisk('nodtl', owner, dtl);
  await writeRandom(url(owner, 'nodtl'));

  const agentOf = (sd: ClusterStorageDriver): AgentProcess => c.agents[sds.indexOf(sd)]!;
  await Promise.all([agentOf(owner).kill9AndWait(), agentOf(dtl).kill9AndWait()]);
  const to = await failedOverFrom(vd.guid, owner, 'nodtl');
  t.is(to.guid, survivor.guid);
  const replay = await voldrv<DtlReplay | null>(to, 'dtl_replay', { volume_id: vd.volumeId });
  t.like(replay, { status: 'unavailable', host: dtl.storage_ip, port: dtl.ports.dtl });
  t.truthy(replay?.reason);
  t.is((await readAll(url(to, 'nodtl'))).length, SIZE, 'the vDisk reads whole from the backend');
  // Both come back for the next test.
  for (const sd of [owner, dtl]) {
    const i = sds.indexOf(sd);
    c.agents[i] = await AgentProcess.start({ natsUrl: c.ns.url, name: `dtlc-${i}`, ip: IPS[i]!, dataDir: join(c.dir, `agent-${i}`) });
  }
  await waitFor('both ONLINE again', async () => {
    const states = await voldrv<Record<string, string>>(survivor, 'node_states', {});
    return states[owner.storagedriver_id] === 'ONLINE' && states[dtl.storagedriver_id] === 'ONLINE';
  });
});

test.serial('I15 through agents: async DTL, kill -9 of the owner; flushed writes all come back, each cluster of unflushed ones is new or old', async (t) => {
  const c = cluster!;
  const [owner, , dtl] = sds as [ClusterStorageDriver, ClusterStorageDriver, ClusterStorageDriver];
  const vd = await protectedVdisk('i15', owner, dtl, 'Asynchronous');
  const a = await writeRandom(url(owner, 'i15'), { flush: true });
  // B overwrites the first half of A: there "old" is A's bytes, so a cluster lost from the async queue shows as A.
  const b = await writeRandom(url(owner, 'i15'), { size: SIZE / 2 });

  await c.agents[0]!.kill9AndWait();
  const to = await failedOverFrom(vd.guid, owner, 'i15');
  const replay = await voldrv<DtlReplay | null>(to, 'dtl_replay', { volume_id: vd.volumeId });
  t.is(replay?.status, 'replayed', JSON.stringify(replay));
  t.true((replay?.entries ?? 0) > 0, 'the DTL had entries the backend lacked');
  t.like(replay, { host: dtl.storage_ip, port: dtl.ports.dtl });

  const back = await readAll(url(to, 'i15'));
  t.is(back.length, SIZE);
  t.is(firstDifference(back.subarray(b.length), a.subarray(b.length)), -1, 'every flushed byte of A that B did not overwrite');
  const CLUSTER = 4096;
  const mixed: number[] = [];
  let fromB = 0;
  for (let off = 0; off < b.length; off += CLUSTER) {
    const got = back.subarray(off, off + CLUSTER);
    if (got.equals(b.subarray(off, off + CLUSTER))) fromB++;
    else if (!got.equals(a.subarray(off, off + CLUSTER))) mixed.push(off);
  }
  t.deepEqual(mixed.slice(0, 10), [], `${mixed.length} clusters of B's range are neither B's nor A's bytes`);
  t.log(`${fromB} of ${b.length / CLUSTER} clusters of the unflushed write survived`);

  c.agents[0] = await AgentProcess.start({ natsUrl: c.ns.url, name: 'dtlc-0', ip: IPS[0]!, dataDir: join(c.dir, 'agent-0') });
  await waitFor('node 0 ONLINE', async () => (await voldrv<Record<string, string>>(to, 'node_states', {}))[owner.storagedriver_id] === 'ONLINE');
  await waitFor('node 0 serving NBD', async () => (await run('nbdinfo', ['--list', url(owner, '')])).code === 0, 15_000, 200);
});

/** A listener on `ip` (port 0: any free one), kept open by the caller. */
async function listener(ip: string, port = 0): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => s.destroy());
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, ip, () => resolve()));
  return { server, port: (server.address() as { port: number }).port };
}

async function freePort(ip: string): Promise<number> {
  const l = await listener(ip);
  await new Promise((r) => l.server.close(r));
  return l.port;
}

let portTaken: { error: OvsError; port: number } | undefined;

test.serial('a DTL port already taken on a node: add_vpool there fails with a typed error, the agent stays up and its other vPool keeps serving', async (t) => {
  const c = cluster!;
  const leases = await nc.jetstream().views.kv(BUCKETS.leases);
  const holder = (decode((await leases.get('cluster'))!.value) as { holder: string }).holder;
  // Not the node that runs add_vpool (the cluster singleton), which checks its own ports before it picks them.
  const target = sds.find((s) => s.storagerouter_guid !== holder)!;
  await waitFor('the target serving NBD', async () => (await run('nbdinfo', ['--list', url(target, '')])).code === 0, 15_000, 200);
  await call('vdisk.create_new', { volume_name: 'bystander', volume_size: SIZE, storagedriver_guid: target.guid });
  t.regex(await qemuIo(url(target, 'bystander'), 'write -P 0x5a 0 1M'), /wrote 1048576/);

  const taken = await listener(target.storage_ip);
  try {
    // Single-port ranges in add_vpool's order (management, xmlrpc, dtl, edge): the DTL gets the taken port.
    const [management, xmlrpc, edge] = [await freePort(target.storage_ip), await freePort(target.storage_ip), await freePort(target.storage_ip)];
    const sr = await request<{ machine_id: string }>(nc, 'ovs.model.storagerouter.get', { guid: target.storagerouter_guid });
    await request(nc, 'ovs.config.set', { key: `/ovs/framework/hosts/${sr.machine_id}/ports`, value: { storagedriver: [[management, management], [xmlrpc, xmlrpc], [taken.port, taken.port], [edge, edge]] } });
    const error = await failure(call('storagerouter.add_vpool', {
      parameters: { vpool_name: 'dtlport', storagerouter_ip: target.storage_ip, backend_info: { type: 'local', path: join(c.dir, 'backend-dtlport') } },
    }, 15_000));
    portTaken = { error, port: taken.port };
    t.log(error.type, error.message, error.details);
    t.truthy(error.type, `a typed error: ${error.type} ${error.message} ${JSON.stringify(error.details)}`);
    t.false(['INTERNAL', 'INTERNAL_ERROR', 'TIMEOUT'].includes(error.type), `${error.type}: ${error.message}`);

    const agent = c.agents[sds.indexOf(target)]!;
    t.is(agent.child.exitCode, null, 'the agent is still running');
    t.truthy(await request(nc, opsSubject(target.storagerouter_guid, 'info'), {}), 'the agent answers');
    const out = await qemuIo(url(target, 'bystander'), 'read -P 0x5a 0 1M');
    t.notRegex(out, /fail|error/i, 'the other vPool\'s vDisk on that node still reads');
    t.regex(await qemuIo(url(target, 'bystander'), 'write -P 0x5b 1M 1M'), /wrote 1048576/, 'and takes writes');
  } finally {
    await new Promise((r) => taken.server.close(r));
  }
});

// Known bug (see the report): the target's agent logs DTL_ERROR port_in_use, but add_vpool only waits for the
// StorageDriver to come up and reports "did not come up in time" at its deadline, saying nothing of the port.
test.serial('a DTL port already taken: the error reaching the caller says which port is in use', (t) => {
  if (!portTaken) return t.fail('the previous test did not get an error');
  const { error, port } = portTaken;
  const said = `${error.message} ${JSON.stringify(error.details)}`;
  t.regex(said, /port_in_use|in use/i, said);
  t.true(said.includes(String(port)), said);
});

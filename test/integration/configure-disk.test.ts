import test from 'ava';
import type { NatsConnection } from 'nats';
import { connectClient, request } from '../../src/client.js';
import { DiskConfigurationError, ValidationError } from '../../src/errors.js';
import { AgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/eventually.js';
import { NatsServer } from '../helpers/nats-server.js';

interface Partition { guid: string; disk_guid: string; offset: number; size: number; mountpoint: string | null; roles: string[] }
interface Disk { guid: string; storagerouter_guid: string }

let ns: NatsServer;
let nc: NatsConnection;
let agents: AgentProcess[] = [];

test.before(async () => {
  ns = await NatsServer.start();
  nc = await connectClient(ns.url);
  agents = await Promise.all(['127.0.0.91', '127.0.0.92', '127.0.0.93'].map((ip, i) => AgentProcess.start({ natsUrl: ns.url, name: `disk-node-${i}`, ip })));
});

test.after.always(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await nc?.close();
  await ns?.stop();
});

const partitionsOf = async (sr: string): Promise<Partition[]> => {
  const disks = new Set((await request<Disk[]>(nc, 'ovs.model.disk.list', {})).filter((d) => d.storagerouter_guid === sr).map((d) => d.guid));
  return (await request<Partition[]>(nc, 'ovs.model.diskpartition.list', {})).filter((p) => disks.has(p.disk_guid));
};

/** The mounted partition the acceptance check picks: the root filesystem first, else the largest. */
const mountedPartition = (sr: string): Promise<Partition> =>
  waitFor(`a mounted partition modelled for ${sr}`, async () => {
    const mounted = (await partitionsOf(sr)).filter((p) => p.mountpoint);
    mounted.sort((a, b) => Number(a.mountpoint !== '/') - Number(b.mountpoint !== '/') || b.size - a.size);
    return mounted[0];
  }, 20_000, 200);

const configure = (sr: string, p: Pick<Partition, 'disk_guid' | 'offset' | 'size'> & { guid: string | null }, roles: string[]): Promise<unknown> =>
  request(nc, 'ovs.task.storagerouter.configure_disk', { storagerouter_guid: sr, disk_guid: p.disk_guid, partition_guid: p.guid, offset: p.offset, size: p.size, roles }, { timeoutMs: 30_000 });

test.serial('every agent models its host disks after start, the root filesystem as a mounted partition', async (t) => {
  for (const a of agents) {
    const p = await mountedPartition(a.guid);
    t.truthy(p.mountpoint);
    t.true(p.size > 0);
  }
});

test.serial('configure_disk gives SCRUB to an existing partition over NATS; get_metadata reports it', async (t) => {
  const [a] = agents as [AgentProcess];
  const p = await mountedPartition(a.guid);
  t.is(await configure(a.guid, p, ['SCRUB']), null);
  const after = await request<Partition>(nc, 'ovs.model.diskpartition.get', { guid: p.guid });
  t.deepEqual(after.roles, ['SCRUB']);
  t.is(after.offset, p.offset);
  t.is(after.size, p.size);
  const meta = await request<{ scrub_available: boolean; partitions: Record<string, Array<{ guid: string; in_use: boolean; claimed: number; used: number }>> }>(
    nc, 'ovs.task.storagerouter.get_metadata', { storagerouter_guid: a.guid });
  t.true(meta.scrub_available);
  t.deepEqual(meta.partitions.SCRUB?.map((e) => [e.guid, e.in_use, e.claimed, e.used]), [[p.guid, false, 0, 0]]);
});

test.serial("refusals change nothing: another node's partition, a bad role, a new partition on a used disk", async (t) => {
  const [a, b] = agents as [AgentProcess, AgentProcess];
  const pb = await mountedPartition(b.guid);
  const before = { a: await partitionsOf(a.guid), b: await partitionsOf(b.guid) };

  const foreign = await t.throwsAsync(configure(a.guid, pb, ['WRITE']));
  t.true(foreign instanceof DiskConfigurationError, String(foreign));
  t.is((foreign as DiskConfigurationError).details.reason, 'disk_not_on_storagerouter');

  const badRole = await t.throwsAsync(configure(b.guid, pb, ['BACKEND']));
  t.true(badRole instanceof ValidationError, String(badRole));

  const create = await t.throwsAsync(configure(b.guid, { ...pb, guid: null }, ['SCRUB']));
  t.true(create instanceof DiskConfigurationError, String(create));
  t.is((create as DiskConfigurationError).details.reason, 'disk_in_use');

  t.deepEqual(await partitionsOf(a.guid), before.a);
  t.deepEqual(await partitionsOf(b.guid), before.b);
});

test.serial('verify_vdisk_cache_quota answers with a typed report', async (t) => {
  const r = await request<{ allocations: unknown[]; over_quota: unknown[]; warnings: unknown[]; checked_vdisks: number; unreachable_vdisks: string[] }>(
    nc, 'ovs.task.monitoring.verify_vdisk_cache_quota', {}, { timeoutMs: 30_000 });
  t.deepEqual(r, { allocations: [], over_quota: [], warnings: [], checked_vdisks: 0, unreachable_vdisks: [] });
});

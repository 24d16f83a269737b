import test from 'ava';
import { request } from '../../src/client.js';
import { waitFor } from '../helpers/eventually.js';
import { qemuIo, startVpoolCluster, type VpoolCluster } from '../helpers/vpool-cluster.js';

/** `statistics` on vDisks, StorageRouters and vPools from the volume drivers' counters, on two agent processes. */
let c: VpoolCluster;
const vdisks: string[] = [];
const IPS = ['127.0.0.171', '127.0.0.172'];
const MiB = 1024 * 1024;
const N = [3 * MiB, 1 * MiB];

type Statistics = Record<string, number> | null;
const statisticsOf = async (type: string, guid: string): Promise<Statistics> =>
  (await request<{ statistics: Statistics }>(c.nc, `ovs.model.${type}.get`, { guid })).statistics;
const urlOf = (i: number) => `nbd://${c.sds[i]!.storage_ip}:${c.sds[i]!.ports.edge}/stat${i}`;

test.before(async () => {
  c = await startVpoolCluster({ ips: IPS, vpoolName: 'spool', offlineAfterS: 3600 });
  for (const [i, sd] of c.sds.entries()) {
    vdisks.push(await c.call<string>('vdisk.create_new', { volume_name: `stat${i}`, volume_size: 16 * MiB, storagedriver_guid: sd.guid }));
  }
});

test.after.always(async () => {
  await c?.stop();
});

test.serial('bytes written over NBD show in the vDisk statistics; its StorageRouter and the vPool sum them', async (t) => {
  for (const [i, n] of N.entries()) t.notRegex(await qemuIo(urlOf(i), `write -P 0x5a 0 ${n}`), /error|failed/i);
  const vd0 = await waitFor('the first vDisk\'s counters', async () => {
    const s = await statisticsOf('vdisk', vdisks[0]!);
    return s && (s.data_written ?? 0) >= N[0]! ? s : undefined;
  });
  t.is(vd0.data_written, N[0]!, 'exactly the bytes qemu-io wrote');
  t.is(vd0['4k_write_operations'], N[0]! / 4096);
  t.true(vd0.write_operations! > 0);
  t.is(vd0.operations, vd0.read_operations! + vd0.write_operations!);
  t.is(typeof vd0.timestamp, 'number');
  t.true('data_written_ps' in vd0);
  // The second agent's vDisk and StorageRouter answer from the other process, over NATS.
  await waitFor('the second vDisk\'s counters', async () => (await statisticsOf('vdisk', vdisks[1]!))?.data_written === N[1]!);
  for (const [i, sd] of c.sds.entries()) {
    // Either may have been computed before the writes (the set-up, the first vDisk's read): cached for up to 4 s, as
    // the original's, so each is awaited until it counts the writes.
    await waitFor(`StorageRouter ${i}`, async () => (await statisticsOf('storagerouter', sd.storagerouter_guid))?.data_written === N[i]!);
    await waitFor(`StorageDriver ${i}`, async () => (await statisticsOf('storagedriver', sd.guid))?.data_written === N[i]!);
  }
  const vpool = await waitFor('the vPool sums both nodes', async () => {
    const v = await statisticsOf('vpool', c.vpool);
    return v?.data_written === N[0]! + N[1]! ? v : undefined;
  });
  t.is(vpool.data_written, N[0]! + N[1]!, 'the vPool sums both nodes');
  t.is(vpool['4k_write_operations'], (N[0]! + N[1]!) / 4096);
});

test.serial('a read after more writes shows a positive per-second rate', async (t) => {
  // Samples taken before the write: the rates compare with them.
  const before = (await statisticsOf('vdisk', vdisks[0]!))!;
  t.truthy(await statisticsOf('vpool', c.vpool));
  t.notRegex(await qemuIo(urlOf(0), `write -P 0x6b 0 ${2 * MiB}`), /error|failed/i);
  // The field is cached for 4 s (as the original's); the next computation compares with the sample before it.
  const after = await waitFor('a rate from the vDisk', async () => {
    const s = await statisticsOf('vdisk', vdisks[0]!);
    return s && s.data_written_ps! > 0 ? s : undefined;
  }, 20_000, 250);
  t.is(after.data_written, before.data_written! + 2 * MiB);
  t.true(after.write_operations_ps! > 0);
  t.false('write_latency_ps' in after, 'latencies get no rate');
  const vpool = await waitFor('a rate from the vPool', async () => {
    const s = await statisticsOf('vpool', c.vpool);
    return s && s.data_written_ps! > 0 ? s : undefined;
  }, 20_000, 250);
  t.is(vpool.data_written, N[0]! + N[1]! + 2 * MiB);
});

test.serial('an owner that is down: its vDisk, its StorageRouter and the vPool read statistics null, the rest still answers', async (t) => {
  await c.agents[1]!.kill9AndWait();
  await waitFor('null statistics where the owner is down', async () =>
    (await statisticsOf('vdisk', vdisks[1]!)) === null && (await statisticsOf('vpool', c.vpool)) === null
    && (await statisticsOf('storagerouter', c.sds[1]!.storagerouter_guid)) === null, 30_000, 500);
  // Cached for up to 4 s: a value computed before the last write may still be served for a moment.
  await waitFor('the live StorageRouter still answers', async () => (await statisticsOf('storagerouter', c.sds[0]!.storagerouter_guid))?.data_written === N[0]! + 2 * MiB);
  t.pass();
});

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { request } from '../../src/client.js';
import type { OvsError } from '../../src/errors.js';
import { encode } from '../../src/protocol/codec.js';
import { testSubject, voldrvSubject } from '../../src/protocol/subjects.js';
import { requestNode } from '../../src/transport/request-owner.js';
import { qemuIo, startVpoolCluster, type VpoolCluster } from '../helpers/vpool-cluster.js';

const MiB = 1024 * 1024;
let c: VpoolCluster;

test.before(async () => {
  c = await startVpoolCluster({ ips: ['127.0.0.121', '127.0.0.122', '127.0.0.123'], vpoolName: 'scrubpool', offlineAfterS: 30, testMode: true, config: { '/ovs/framework/scrub/grace_s': 1 } });
});

test.after.always(async () => {
  await c?.stop();
});

/** Bytes under the backend directory; entries that vanish while it walks (a namespace's `.lock`, temp files) count 0. */
async function backendBytes(dir: string): Promise<number> {
  let total = 0;
  const gone = (e: unknown): number => {
    if ((e as { code?: string }).code === 'ENOENT') return 0;
    throw e;
  };
  for (const e of await readdir(dir, { withFileTypes: true }).catch((err: unknown) => (gone(err), []))) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? await backendBytes(p) : await stat(p).then((st) => st.size, gone);
  }
  return total;
}

const put = (sr: string, type: string, props: Record<string, unknown>): Promise<{ guid: string }> => request(c.nc, testSubject(sr, 'model.put'), { type, props });

async function scrubPartition(sr: string): Promise<void> {
  const disk = await put(sr, 'disk', { storagerouter_guid: sr, name: 'scrubdisk', state: 'OK', size: 64 * MiB, is_ssd: true });
  await put(sr, 'diskpartition', { disk_guid: disk.guid, state: 'OK', offset: 0, size: 64 * MiB, mountpoint: `/mnt/scrub-${sr.slice(0, 8)}`, roles: ['SCRUB'] });
}

async function scrubState(sdIndex: number, volumeId: string): Promise<{ last_scrub: string | null; work_pending: number; running: boolean }> {
  const sd = c.sds[sdIndex]!;
  const deadline = Date.now() + 10_000;
  return (await requestNode(c.nc, sd.storagerouter_guid, voldrvSubject(sd.storagerouter_guid, sd.guid, 'scrub_state'), encode({ volume_id: volumeId }), { timeout: 10_000, deadline })) as never;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, tries = 240, everyMs = 500): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`gave up waiting for ${what}`);
}

test.serial('no SCRUB partition anywhere: execute_scrub answers NO_SCRUB_LOCATIONS', async (t) => {
  const e = await t.throwsAsync<OvsError>(c.call('generic.execute_scrub', {}));
  t.is(e?.type, 'NO_SCRUB_LOCATIONS');
});

test.serial('manual=false with vDisks given is refused', async (t) => {
  const e = await t.throwsAsync<OvsError>(c.call('generic.execute_scrub', { vdisk_guids: ['x'] }));
  t.is(e?.type, 'VALIDATION_FAILED');
});

test.serial('an overwrite-heavy vDisk whose snapshots were deleted: execute_scrub over the SCRUB nodes frees backend bytes, data unchanged', async (t) => {
  // Scrub nodes: the two StorageRouters that do not own the vDisk (the work crosses agents).
  for (const sd of c.sds.slice(1)) await scrubPartition(sd.storagerouter_guid);
  const vd = await c.call<string>('vdisk.create_new', { volume_name: 'churn', volume_size: 16 * MiB, storagedriver_guid: c.sds[0]!.guid });
  const url = `nbd://${c.sds[0]!.storage_ip}:${c.sds[0]!.ports.edge}/churn`;
  const snaps: string[] = [];
  for (const [i, pattern] of ['0x11', '0x22', '0x33', '0x44'].entries()) {
    t.regex(await qemuIo(url, `write -P ${pattern} 0 4M`), /wrote 4194304/);
    snaps.push(await until('the snapshot', () => c.call<string>('vdisk.create_snapshot', { vdisk_guid: vd, metadata: { label: `s${i}`, timestamp: String(1_700_000_000 + i), is_consistent: true } }).catch(() => undefined)));
  }
  // The older snapshots go: their overwritten data is dead in the interval of the last one.
  for (const id of snaps.slice(0, 3)) await c.call('vdisk.delete_snapshot', { vdisk_guid: vd, snapshot_id: id });
  const vdisk = await request<{ volume_id: string }>(c.nc, 'ovs.model.vdisk.get', { guid: vd });
  await until('scrub work', async () => ((await scrubState(0, vdisk.volume_id)).work_pending > 0 ? true : undefined));
  const before = await backendBytes(join(c.dir, 'backend'));

  const result = await c.call<{ scrubbed: number; vdisks: Array<{ vdisk_guid: string; storagerouter_guid: string; applied: number; units: number; not_applied: unknown[] }>; storagerouters: string[] }>('generic.execute_scrub', {});
  t.is(result.scrubbed, 1);
  const mine = result.vdisks.find((v) => v.vdisk_guid === vd)!;
  t.true(mine.units >= 1 && mine.applied >= 1, JSON.stringify(mine));
  t.deepEqual(mine.not_applied, []);
  t.true(c.sds.slice(1).some((sd) => sd.storagerouter_guid === mine.storagerouter_guid), 'scrubbed on a SCRUB node');
  t.deepEqual([...result.storagerouters].sort(), c.sds.slice(1).map((sd) => sd.storagerouter_guid).sort());

  const state = await scrubState(0, vdisk.volume_id);
  t.is(state.work_pending, 0);
  t.truthy(state.last_scrub);
  const info = (await request<{ scrubbing_information: { ongoing: boolean; previous_successful_runs: unknown[] } }>(c.nc, 'ovs.model.vdisk.get', { guid: vd })).scrubbing_information;
  t.false(info.ongoing);
  t.is(info.previous_successful_runs.length, 1);
  const lastRun = await request<{ value: { vdisks_scrubbed: number; units: number } }>(c.nc, 'ovs.config.get', { key: `/ovs/vpools/${c.vpool}/scrub/last_run` });
  t.like(lastRun.value, { vdisks_scrubbed: 1, units: mine.units });

  // Garbage goes after the driver's grace delay (60 s by default).
  const after = await until('the garbage collection', async () => {
    const now = await backendBytes(join(c.dir, 'backend'));
    return now < before - 4 * MiB ? now : undefined;
  });
  t.true(after < before, `${before} → ${after} bytes`);
  t.notRegex(await qemuIo(url, 'read -P 0x44 0 4M'), /fail/i);
  t.notRegex(await qemuIo(url, 'read -P 0x00 4M 4M'), /fail/i);
});

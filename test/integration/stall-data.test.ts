import test from 'ava';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from '../../src/client.js';
import { DTL_REQUEST_TIMEOUT_KEY } from '../../src/storagedriver/dtl-settings.js';
import { waitFor } from '../helpers/eventually.js';
import { run } from '../helpers/run.js';
import { qemuIo, startVpoolCluster, type VpoolCluster } from '../helpers/vpool-cluster.js';

/**
 * The chaos suite's stall_agent with real processes: the owner of a vDisk with a synchronous DTL, caught mid-write
 * by a background load, is SIGSTOPped until its vDisk failed over, then woken. Every acknowledged write (before the
 * stall at the old owner, during it at the new one) must read back through the owner's edge afterwards.
 */
let cluster: VpoolCluster;
const IPS = ['127.0.0.241', '127.0.0.242', '127.0.0.243'];
const MiB = 1024 * 1024;
const SLOT_BASE = 32 * MiB;
const ROUNDS = 6;
const hex = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;
const nbd = (i: number): string => `nbd://${cluster.sds[i]!.storage_ip}:${cluster.sds[i]!.ports.edge}/sd0`;
/** -1 while the model cannot say (a vDisk's get is answered by the agent that runs it, which may be the stalled one). */
const ownerOf = async (vd: string): Promise<number> => {
  const got = await request<{ storagedriver_guid: string }>(cluster.nc, 'ovs.model.vdisk.get', { guid: vd }, { timeoutMs: 2_000 }).catch(() => undefined);
  return got ? cluster.sds.findIndex((s) => s.guid === got.storagedriver_guid) : -1;
};
const owner = (vd: string): Promise<number> => waitFor('the model to name an owner', async () => {
  const o = await ownerOf(vd);
  return o >= 0 ? o + 1 : 0;
}, 120_000, 250).then((o) => o - 1);

test.before(async () => {
  cluster = await startVpoolCluster({ ips: IPS, vpoolName: 'stalldata', offlineAfterS: 3, keepDataDirs: true, config: { [DTL_REQUEST_TIMEOUT_KEY]: 2_000 } });
});

test.after.always(async () => {
  for (const a of cluster?.agents ?? []) if (a.child.pid && a.child.exitCode === null) process.kill(a.child.pid, 'SIGCONT');
  await cluster?.stop();
});

async function backendListing(dir: string): Promise<string> {
  const nss = await readdir(dir).catch(() => [] as string[]);
  const out: string[] = [];
  for (const ns of nss) {
    for (const name of (await readdir(join(dir, ns)).catch(() => [] as string[])).sort()) {
      const st = await stat(join(dir, ns, name)).catch(() => undefined);
      out.push(`${ns}/${name} ${st?.size ?? '?'} ${st ? new Date(st.mtimeMs).toISOString() : '?'}`);
    }
  }
  return out.join('\n');
}

test.serial('acknowledged writes survive a stalled owner that wakes after its failover', async (t) => {
  t.timeout(900_000);
  const vd = await cluster.call<string>('vdisk.create_new', { volume_name: 'sd0', volume_size: 64 * MiB, storagedriver_guid: cluster.sds[0]!.guid });
  await cluster.call('vdisk.set_config_params', { vdisk_guid: vd, new_config_params: { dtl_mode: 'sync' } });
  await waitFor('DTL in sync', async () => (await request<{ dtl_status?: string }>(cluster.nc, 'ovs.model.vdisk.get', { guid: vd }, { timeoutMs: 2_000 })).dtl_status === 'ok_sync', 60_000, 250).catch(() => undefined);

  // Background load through an edge that is not the stalled node's, so the owner is caught mid-write.
  let stalled = -1;
  let loading = true;
  let loadWrites = 0;
  const load = (async () => {
    for (let k = 0; loading; k++) {
      const edge = [0, 1, 2].filter((i) => i !== stalled)[k % 2]!;
      const cmds = Array.from({ length: 16 }, (_, j) => ['-c', `write -P ${hex(1 + ((k + j) % 250))} ${((k * 16 + j) % 64) * 256 * 1024} 256k`]).flat();
      const r = await run('timeout', ['20', 'qemu-io', '-f', 'raw', nbd(edge), ...cmds]);
      if (r.code === 0) loadWrites++;
    }
  })();

  const slots = new Map<number, number>();
  const writeSlot = async (at: number, slot: number, pattern: number): Promise<void> => {
    t.regex(await qemuIo(nbd(at), `write -P ${hex(pattern)} ${SLOT_BASE + slot * MiB} ${MiB}`), /wrote 1048576/, `slot ${slot} written at node ${at}`);
    slots.set(slot, pattern);
  };
  const lost: string[] = [];
  try {
    for (let round = 0; round < ROUNDS && lost.length === 0; round++) {
      const before = await owner(vd);
      await writeSlot(before, round * 2, 0x10 + round * 2);
      await new Promise((r) => setTimeout(r, 300 + 200 * round));
      const pid = cluster.agents[before]!.child.pid!;
      process.kill(pid, 'SIGSTOP');
      stalled = before;
      let after: number;
      let woke = 0;
      try {
        after = await waitFor('failover away from the stalled owner', async () => {
          const o = await ownerOf(vd);
          return o >= 0 && o !== before ? o + 1 : 0;
        }, 120_000, 250).then((o) => o - 1);
        await writeSlot(after, round * 2 + 1, 0x11 + round * 2);
      } finally {
        process.kill(pid, 'SIGCONT');
        woke = Date.now();
        stalled = -1;
      }
      await new Promise((r) => setTimeout(r, 4_000));
      const now = await owner(vd);
      for (const [slot, pattern] of slots) {
        let last = '';
        await waitFor(`slot ${slot} readable`, async () => {
          last = await qemuIo(nbd(await owner(vd)), `read -P ${hex(pattern)} ${SLOT_BASE + slot * MiB} ${MiB}`);
          return /read 1048576|Pattern verification failed/i.test(last);
        }, 60_000, 1_000).catch(() => undefined);
        if (!/read 1048576/.test(last) || /Pattern verification failed/i.test(last)) lost.push(`round ${round}: slot ${slot} (${hex(pattern)}) owner ${now}: ${last.trim().split('\n').slice(0, 3).join(' | ')}`);
      }
      t.log(`round ${round}: node ${before} stalled, failed over to ${after!}, owner now ${now}, woke ${new Date(woke).toISOString()}, load writes ${loadWrites}, lost ${lost.length}`);
    }
  } finally {
    loading = false;
    await load;
  }
  // For a look at a run afterwards: STALL_DATA_DUMP=/tmp/x writes each agent's whole log to /tmp/x-agent<i>.log.
  const dump = process.env['STALL_DATA_DUMP'];
  if (dump) for (const [i, a] of cluster.agents.entries()) await writeFile(`${dump}-agent${i}.log`, a.log.join(''));
  if (lost.length > 0) {
    const re = /fence|halt|steal|restart|replay|claim|owner|stale/i;
    for (const [i, a] of cluster.agents.entries()) t.log(`--- agent ${i} ---\n${a.log.join('').split('\n').filter((l) => re.test(l) && !l.includes('"component":"nbd"')).slice(-40).join('\n')}`);
    t.log(`--- backend ---\n${await backendListing(join(cluster.dir, 'backend'))}`);
  }
  t.deepEqual(lost, []);
});

import test from 'ava';
import { request } from '../../src/client.js';
import { waitFor } from '../helpers/eventually.js';
import { qemuIo, startVpoolCluster, type VpoolCluster } from '../helpers/vpool-cluster.js';

/**
 * A stalled owner (SIGSTOP past the offline timeout) loses its vDisk to a failover. Once it wakes it must be fenced:
 * never the old bytes, never an acknowledged write that the new owner does not have; and its edge serves the vDisk
 * again by forwarding to the new owner, as every edge of the vPool does.
 */
let cluster: VpoolCluster;
const IPS = ['127.0.0.231', '127.0.0.232', '127.0.0.233'];
const MiB = 1024 * 1024;
const nbd = (i: number, name: string): string => `nbd://${cluster.sds[i]!.storage_ip}:${cluster.sds[i]!.ports.edge}/${name}`;
/** -1 while the model cannot say (a vDisk's get is answered by the agent that runs it, which may be the stalled one). */
const ownerOf = async (vd: string): Promise<number> => {
  const got = await request<{ storagedriver_guid: string }>(cluster.nc, 'ovs.model.vdisk.get', { guid: vd }, { timeoutMs: 3_000 }).catch(() => undefined);
  return got ? cluster.sds.findIndex((s) => s.guid === got.storagedriver_guid) : -1;
};

test.before(async () => {
  cluster = await startVpoolCluster({ ips: IPS, vpoolName: 'stall', offlineAfterS: 3, keepDataDirs: true });
});

test.after.always(async () => {
  for (const a of cluster?.agents ?? []) if (a.child.pid && a.child.exitCode === null) process.kill(a.child.pid, 'SIGCONT');
  await cluster?.stop();
});

test.serial('a woken stalled owner is fenced and its edge forwards to the new owner', async (t) => {
  t.timeout(240_000);
  const vd = await cluster.call<string>('vdisk.create_new', { volume_name: 'st1', volume_size: 16 * MiB, storagedriver_guid: cluster.sds[0]!.guid });
  t.regex(await qemuIo(nbd(0, 'st1'), 'write -P 0x11 0 1M'), /wrote 1048576/);
  const stalled = cluster.agents[0]!;
  process.kill(stalled.child.pid!, 'SIGSTOP');
  try {
    const owner = await waitFor('failover away from the stalled owner', async () => {
      const o = await ownerOf(vd);
      return o > 0 ? o : undefined;
    }, 120_000, 250);
    // Written at the new owner while the old one sleeps.
    t.regex(await qemuIo(nbd(owner, 'st1'), 'write -P 0x22 0 1M'), /wrote 1048576/);
  } finally {
    process.kill(stalled.child.pid!, 'SIGCONT');
  }
  // Through the woken node's edge: the new bytes (forwarded), never the old ones, once it caught up with the registry.
  let last = '';
  const served = await waitFor('the woken edge serves the new owner\'s bytes', async () => {
    last = await qemuIo(nbd(0, 'st1'), 'read -P 0x22 0 1M');
    t.notRegex(last, /Pattern verification failed/i, 'the woken node served old bytes');
    return /read 1048576/.test(last);
  }, 60_000, 1_000).then(() => true, () => false);
  t.true(served, `the woken edge never served st1: ${last}\n--- woken agent log ---\n${stalled.log.join('').split('\n').filter((l) => /io-lease|fenced|forward|steal|offline/i.test(l)).slice(-40).join('\n')}`);
  // A write through the woken edge lands at the new owner.
  t.regex(await qemuIo(nbd(0, 'st1'), 'write -P 0x33 2M 1M'), /wrote 1048576/);
  const now = await waitFor('the model names the owner', async () => {
    const o = await ownerOf(vd);
    return o >= 0 ? o : undefined;
  }, 30_000, 250);
  t.notRegex(await qemuIo(nbd(now, 'st1'), 'read -P 0x33 2M 1M'), /fail|error/i);
  t.is(stalled.child.exitCode, null, 'the woken agent runs');
});

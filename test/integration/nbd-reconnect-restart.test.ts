import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { VerifyingLoad } from '../../bench/chaos/load.js';
import { request } from '../../src/client.js';
import { AgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/eventually.js';
import { runFio, startReconnectingNbd, type FioResult, type ReconnectingNbd } from '../helpers/reconnecting-nbd.js';
import { startVpoolCluster, type VpoolCluster } from '../helpers/vpool-cluster.js';

/**
 * kill -9 of the agent whose edge a reconnecting qemu client is attached to, then its restart on the same data dir:
 * the same qemu client goes on once the edge serves again, whether the vDisk lived elsewhere or on the killed node.
 */
let cluster: VpoolCluster;
const IPS = ['127.0.0.211', '127.0.0.212'];
const MiB = 1024 * 1024;
const ownerOf = async (vd: string): Promise<number> => {
  const got = await request<{ storagedriver_guid: string }>(cluster.nc, 'ovs.model.vdisk.get', { guid: vd });
  return cluster.sds.findIndex((s) => s.guid === got.storagedriver_guid);
};

test.before(async () => {
  cluster = await startVpoolCluster({ ips: IPS, vpoolName: 'rcn', offlineAfterS: 3, keepDataDirs: true });
});

test.after.always(async () => {
  await cluster?.stop();
});

const killAndRestart = async (i: number): Promise<void> => {
  await cluster.agents[i]!.kill9AndWait();
  cluster.agents[i] = await AgentProcess.start({ natsUrl: cluster.ns.url, name: `rcn-${i}`, ip: IPS[i]!, dataDir: join(cluster.dir, `agent-${i}`) });
};

/** fio --verify phases through `front` until `disrupt` is done, then one more; every phase must end without error. */
async function underLoad(t: ExecutionContext, front: ReconnectingNbd, disrupt: (phaseDone: () => Promise<void>) => Promise<void>): Promise<FioResult[]> {
  const results: FioResult[] = [];
  let disrupted = false;
  const load = (async () => {
    while (!disrupted) results.push(await runFio({ uri: front.uri, sizeBytes: 16 * MiB, runtimeS: 3, iodepth: 4 }));
    results.push(await runFio({ uri: front.uri, sizeBytes: 16 * MiB, runtimeS: 2, iodepth: 4 }));
  })();
  const phaseDone = async (): Promise<void> => {
    const before = results.length;
    await waitFor('a fio phase to complete', () => results.length > before, 120_000, 100);
  };
  try {
    await phaseDone();
    await disrupt(phaseDone);
  } finally {
    disrupted = true;
    await load;
  }
  for (const [i, r] of results.entries()) {
    t.log(`phase ${i}: ${r.writeIos} writes, ${r.readIos} verify reads, error ${r.error}`);
    t.is(r.error, 0, `phase ${i}: fio error (${r.stderr.slice(-500)}); qemu-nbd: ${front.output().slice(-3000)}`);
    t.is(r.totalErrors, 0, `phase ${i}: fio I/O errors`);
  }
  t.true(results.every((r) => r.writeIos > 0), 'every phase wrote');
  return results;
}

test.serial('kill -9 and restart of the edge (the vDisk lives on the other node): the same qemu client goes on', async (t) => {
  const vd = await cluster.call<string>('vdisk.create_new', { volume_name: 'rc1', volume_size: 32 * MiB, storagedriver_guid: cluster.sds[1]!.guid });
  const front = await startReconnectingNbd({ host: IPS[0]!, port: cluster.sds[0]!.ports.edge, exportName: 'rc1', trace: 'nbd_*' });
  t.teardown(() => front.stop());
  await underLoad(t, front, async (phaseDone) => {
    await killAndRestart(0);
    await phaseDone();
    // Twice: a second crash of the same edge is no different.
    await killAndRestart(0);
    await phaseDone();
  });
  t.is(await ownerOf(vd), 1, 'the vDisk never moved');
});

test.serial('kill -9 of the edge that owned the vDisk: failover, restart, the restarted edge forwards to the new owner', async (t) => {
  const vd = await cluster.call<string>('vdisk.create_new', { volume_name: 'rc2', volume_size: 32 * MiB, storagedriver_guid: cluster.sds[0]!.guid });
  const front = await startReconnectingNbd({ host: IPS[0]!, port: cluster.sds[0]!.ports.edge, exportName: 'rc2', trace: 'nbd_*' });
  t.teardown(() => front.stop());
  await underLoad(t, front, async (phaseDone) => {
    await cluster.agents[0]!.kill9AndWait();
    await waitFor('rc2 failed over', async () => (await ownerOf(vd)) === 1, 120_000, 250);
    cluster.agents[0] = await AgentProcess.start({ natsUrl: cluster.ns.url, name: 'rcn-0', ip: IPS[0]!, dataDir: join(cluster.dir, 'agent-0') });
    await phaseDone();
  });
  t.is(await ownerOf(vd), 1, 'served by the node it failed over to');
  t.regex(cluster.agents[0]!.log.join(''), /forwarding to the owner/);
});

// qemu's rule, not ours: once `reconnect-delay` has passed, its requests fail at once with EIO, while its connect thread
// keeps retrying (every 1, 2, 4, 8, then 16 s). The chaos load once replaced such a client; it must not need to.
test.serial('an edge down for longer than the reconnect delay: EIO meanwhile, then the same client serves again by itself', async (t) => {
  await cluster.call<string>('vdisk.create_new', { volume_name: 'rc3', volume_size: 32 * MiB, storagedriver_guid: cluster.sds[1]!.guid });
  const lines: string[] = [];
  const load = await VerifyingLoad.start({ host: IPS[0]!, port: cluster.sds[0]!.ports.edge, exportName: 'rc3', sizeBytes: 16 * MiB, log: (m) => lines.push(m), reconnectDelayS: 2 });
  let stopped = false;
  t.teardown(async () => {
    if (!stopped) await load.stop();
  });
  await waitFor('a good phase', () => load.goodPhases > 0, 120_000, 100);
  await cluster.agents[0]!.kill9AndWait();
  // The delay has passed for sure once a phase was lost.
  await waitFor('a lost phase', () => load.figures.connectionLosses > 0, 120_000, 100);
  cluster.agents[0] = await AgentProcess.start({ natsUrl: cluster.ns.url, name: 'rcn-0', ip: IPS[0]!, dataDir: join(cluster.dir, 'agent-0') });
  const good = load.goodPhases;
  await waitFor('a good phase after the restart', () => load.goodPhases > good, 120_000, 100);
  stopped = true;
  await load.stop();
  t.log(`phases ${load.figures.phases}, lost ${load.figures.connectionLosses}; ${lines.slice(-3).join(' / ')}`);
  t.is(load.figures.verifyErrors, 0, load.figures.failures.join('\n'));
  t.is(load.figures.reattaches, 0, 'the qemu client was never replaced');
  t.true(lines.some((l) => /lost its connection \(error 5\)/.test(l)), 'the phases in between failed with EIO');
});

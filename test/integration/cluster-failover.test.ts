import { join } from 'node:path';
import test from 'ava';
import type { NatsConnection } from 'nats';
import { request } from '../../src/client.js';
import { AgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/eventually.js';
import type { NatsServer } from '../helpers/nats-server.js';
import { qemuIo, startVpoolCluster, type VpoolCluster } from '../helpers/vpool-cluster.js';
import { run } from '../helpers/run.js';

/** Automatic failover and fencing with three agent processes sharing a local backend directory. */
let ns: NatsServer;
let nc: NatsConnection;
let dir: string;
let agents: AgentProcess[] = [];
let cluster: VpoolCluster | undefined;
const IPS = ['127.0.0.41', '127.0.0.42', '127.0.0.43'];
const MiB = 1024 * 1024;
const sds: Array<{ guid: string; storage_ip: string; ports: { edge: number }; storagerouter_guid: string; storagedriver_id: string }> = [];

const call = <T = unknown>(task: string, params: Record<string, unknown>): Promise<T> => request<T>(nc, `ovs.task.${task}`, params, { timeoutMs: 90_000 });
const sdOf = (guid: string) => sds.find((s) => s.guid === guid)!;
const url = (sd: { storage_ip: string; ports: { edge: number } }, name: string): string => `nbd://${sd.storage_ip}:${sd.ports.edge}/${name}`;
// Short: a request that reached an agent just as it was killed gets no answer; the poll asks again.
const owner = async (vd: string): Promise<string> => (await request<{ storagedriver_guid: string }>(nc, 'ovs.model.vdisk.get', { guid: vd }, { timeoutMs: 10_000 })).storagedriver_guid;


async function synced(vd: string): Promise<void> {
  const tlog = await call<string>('vdisk.schedule_backend_sync', { vdisk_guid: vd });
  await waitFor('backend sync', () => call<boolean>('vdisk.is_volume_synced_up_to_tlog', { vdisk_guid: vd, tlog_name: tlog }));
}

test.before(async () => {
  cluster = await startVpoolCluster({ ips: IPS, vpoolName: 'fpool', offlineAfterS: 2, keepDataDirs: true });
  ({ ns, nc, dir, agents } = cluster);
  sds.push(...cluster.sds);
});

test.after.always(async () => {
  await cluster?.stop();
});

test.serial('kill -9 of an owner: its vDisks restart on the other nodes, spread, with everything that was in the backend', async (t) => {
  const vdisks: string[] = [];
  for (let i = 0; i < 6; i++) {
    const vd = await call<string>('vdisk.create_new', { volume_name: `fo${i}`, volume_size: 8 * MiB, storagedriver_guid: sds[0]!.guid });
    t.regex(await qemuIo(url(sds[0]!, `fo${i}`), `write -P ${0x40 + i} 0 2M`), /wrote/);
    await synced(vd);
    vdisks.push(vd);
  }
  await agents[0]!.kill9AndWait();
  const owners = await waitFor('every vDisk owned elsewhere', async () => {
    const now = await Promise.all(vdisks.map(owner));
    return now.every((o) => o !== sds[0]!.guid) ? now : undefined;
  }, 60_000, 200);
  t.true(new Set(owners).size === 2, `spread over both survivors: ${owners.map((o) => sdOf(o).storage_ip).join(', ')}`);
  for (const [i, vd] of vdisks.entries()) {
    const out = await qemuIo(url(sdOf(owners[i]!), `fo${i}`), `read -P ${0x40 + i} 0 2M`);
    t.notRegex(out, /fail|error/i, `fo${i} at its new owner`);
    // The model is read through whichever agent answers; its copy may trail the registry by a moment.
    const status = await waitFor(`fo${i} RUNNING in the model`, async () => {
      const v = await request<{ storagedriver_guid: string; info: { live_status: string } }>(nc, 'ovs.model.vdisk.get', { guid: vd });
      return v.info.live_status === 'RUNNING' ? v.info.live_status : undefined;
    }, 20_000, 200).catch((e: unknown) => `${String(e)}\n${failoverLog()}`);
    t.is(status, 'RUNNING');
  }
});

/** What the surviving agents said about liveness and failovers: the explanation when a vDisk is not where it should be. */
function failoverLog(): string {
  return agents.slice(1).flatMap((a, i) => a.log.join('').split('\n').filter((l) => /offline|failed over|restarted|ONLINE|steal/i.test(l)).slice(-15).map((l) => `agent ${i + 1}: ${l}`)).join('\n');
}

test.serial('the old owner comes back ONLINE and serves none of its former vDisks', async (t) => {
  const vdisks = (await request<Array<{ guid: string; name: string }>>(nc, 'ovs.model.vdisk.list', {})).filter((v) => v.name.startsWith('fo'));
  const before = await Promise.all(vdisks.map((v) => owner(v.guid)));
  agents[0] = await AgentProcess.start({ natsUrl: ns.url, name: 'fpool-0', ip: IPS[0]!, dataDir: join(dir, 'agent-0') });
  const states = await waitFor('node 0 ONLINE in the cluster registry', async () => {
    const s = await request<Record<string, string>>(nc, `ovs.node.${sds[1]!.storagerouter_guid}.voldrv.${sds[1]!.guid}.node_states`, {});
    return s[sds[0]!.storagedriver_id] === 'ONLINE' ? s : undefined;
  });
  t.is(states[sds[0]!.storagedriver_id], 'ONLINE');
  await waitFor('node 0 serving NBD again', async () => /Protocol|size|exports/i.test((await run('nbdinfo', ['--list', url(sds[0]!, '')])).stdout));
  // Its edge forwards their clients to the owners now (it does not run them itself).
  for (const v of vdisks) t.notRegex(await qemuIo(url(sds[0]!, v.name), 'read 0 4k'), /error|fail/i, `${v.name} reached through the old owner's edge`);
  const forwarded = agents[0].log.join('').split('\n').filter((l) => /forwarding to the owner/.test(l));
  t.is(forwarded.length, vdisks.length, 'each one forwarded, none served by the old owner');
  t.deepEqual(await Promise.all(vdisks.map((v) => owner(v.guid))), before, 'owners unchanged');
});

test.serial('I17 fencing: a replaced owner that is still alive can change nothing in the backend; its volume halts', async (t) => {
  const vd = await call<string>('vdisk.create_new', { volume_name: 'fence1', volume_size: 32 * MiB, storagedriver_guid: sds[1]!.guid });
  t.regex(await qemuIo(url(sds[1]!, 'fence1'), 'write -P 0x61 0 1M'), /wrote/);
  await synced(vd);
  // Node 1 is declared offline while it runs (a partition): the vDisk restarts elsewhere and claims the backend.
  const r = await call<{ failed_over: Record<string, string> }>('storagedriver.mark_offline', { storagerouter_guid: sds[1]!.storagerouter_guid });
  const newOwner = sds.find((s) => s.storagerouter_guid === r.failed_over[vd])!;
  t.truthy(newOwner);
  t.not(newOwner.guid, sds[1]!.guid);
  // The stale owner still takes writes into its cache, but the first upload is fenced: its volume halts.
  const stale = url(sds[1]!, 'fence1');
  t.regex(await qemuIo(stale, 'write -P 0x62 0 1M'), /wrote 1048576/, 'the stale owner still accepts writes into its cache');
  await qemuIo(stale, 'write -P 0x62 1M 11M').catch(() => '');
  await waitFor('the stale owner halts', () => agents[1]!.log.join('').includes('"msg":"volume halted"'), 30_000, 200);
  // The new owner has the data from before the take-over and none of the stale owner's writes.
  t.notRegex(await qemuIo(url(newOwner, 'fence1'), 'read -P 0x61 0 1M'), /fail|error/i);
  t.regex(await qemuIo(url(newOwner, 'fence1'), 'read -P 0x62 0 1M'), /fail/i, 'a stale write reached the backend');
  // Halted there, the vDisk is the new owner's: the stale node's edge forwards to it from now on.
  await waitFor('a write through the stale node reaches the new owner', async () => /wrote 65536/.test(await qemuIo(stale, 'write -P 0x63 0 64k').catch(() => '')), 30_000, 500);
  t.notRegex(await qemuIo(url(newOwner, 'fence1'), 'read -P 0x63 0 64k'), /fail|error/i);
});

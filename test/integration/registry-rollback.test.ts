import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { NatsConnection } from 'nats';
import { connectClient, request } from '../../src/client.js';
import { AgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/eventually.js';
import { NatsServer } from '../helpers/nats-server.js';
import { run } from '../helpers/run.js';

const MiB = 1024 * 1024;

test('a JetStream store rolled back to an older copy: the registry is brought back in line with the backend at start', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ovs-rollback-'));
  let ns = await NatsServer.start();
  let nc: NatsConnection = await connectClient(ns.url);
  const agentDir = join(dir, 'agent');
  const start = (): Promise<AgentProcess> => AgentProcess.start({ natsUrl: ns.url, name: 'rb', ip: '127.0.0.61', dataDir: agentDir });
  let agent = await start();
  const call = <T = unknown>(task: string, params: Record<string, unknown>): Promise<T> => request<T>(nc, `ovs.task.${task}`, params, { timeoutMs: 60_000 });
  try {
    const base = 33_000 + Math.floor(Math.random() * 300) * 100;
    const sr = await request<{ machine_id: string }>(nc, 'ovs.model.storagerouter.get', { guid: agent.guid });
    await request(nc, 'ovs.config.set', { key: `/ovs/framework/hosts/${sr.machine_id}/ports`, value: { storagedriver: [[base, base + 99]] } });
    const { vpool_guid, storagedriver_guid } = await call<{ vpool_guid: string; storagedriver_guid: string }>('storagerouter.add_vpool', { parameters: { vpool_name: 'rbpool', storagerouter_ip: '127.0.0.61', backend_info: { type: 'local', path: join(dir, 'backend') } } });
    const sd = await request<{ storage_ip: string; ports: { edge: number } }>(nc, 'ovs.model.storagedriver.get', { guid: storagedriver_guid });
    const old = await call<string>('vdisk.create_new', { volume_name: 'old1', volume_size: 8 * MiB, storagedriver_guid });
    // The older copy of the store: the vPool and old1, nothing after.
    await agent.stop();
    await nc.close();
    await ns.stop(true);
    await cp(join(ns.dir, 'js'), join(dir, 'js-older'), { recursive: true });
    ns = await NatsServer.startAt(ns);
    nc = await connectClient(ns.url);
    agent = await start();
    const fresh = await call<string>('vdisk.create_new', { volume_name: 'new1', volume_size: 8 * MiB, storagedriver_guid });
    const freshVolume = (await request<{ volume_id: string }>(nc, 'ovs.model.vdisk.get', { guid: fresh })).volume_id;
    const url = `nbd://${sd.storage_ip}:${sd.ports.edge}/new1`;
    t.regex((await run('qemu-io', ['-f', 'raw', url, '-c', 'write -P 0x5c 0 1M', '-c', 'flush'])).stdout, /wrote/);
    await call('vdisk.delete', { vdisk_guid: old });
    // Power loss: the store comes back as the older copy.
    await agent.stop();
    await nc.close();
    await ns.stop(true);
    await rm(join(ns.dir, 'js'), { recursive: true, force: true });
    await cp(join(dir, 'js-older'), join(ns.dir, 'js'), { recursive: true });
    ns = await NatsServer.startAt(ns);
    nc = await connectClient(ns.url);
    agent = await start();
    const volumes = await waitFor('the registry reconciled', async () => {
      const v = await call<string[]>('vdisk.list_volumes', { vpool_guid });
      return v.includes(freshVolume) ? v : undefined;
    });
    t.deepEqual(volumes, [freshVolume], 'the lost volume is back, the deleted one gone');
    t.notRegex((await run('qemu-io', ['-f', 'raw', url, '-c', 'read -P 0x5c 0 1M'])).stdout, /fail/i, 'and it serves its data');
    // The model rolled back too; sync_with_reality follows the registry.
    t.like(await call('vdisk.sync_with_reality', { vpool_guid }), { removed: 1 });
    const names = (await request<Array<{ name: string }>>(nc, 'ovs.model.vdisk.list', {})).map((v) => v.name);
    t.deepEqual(names, ['new1']);
  } finally {
    await agent.stop();
    await nc.close();
    await ns.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from 'nats';
import { connectClient, request } from '../../src/client.js';
import { OFFLINE_AFTER_KEY } from '../../src/cluster/failure-detector.js';
import { AgentProcess } from './agent-process.js';
import { NatsServer } from './nats-server.js';
import { run } from './run.js';

export interface ClusterStorageDriver {
  guid: string;
  storage_ip: string;
  storagerouter_guid: string;
  storagedriver_id: string;
  ports: { edge: number; dtl: number };
}

/** One vPool on several agent processes (one loopback address each) sharing a local backend directory. */
export interface VpoolClusterOn {
  /** What the agents were started with (one URL, or several comma-separated). */
  natsUrl: string;
  nc: NatsConnection;
  dir: string;
  agents: AgentProcess[];
  sds: ClusterStorageDriver[];
  vpool: string;
  call<T = unknown>(task: string, params: Record<string, unknown>): Promise<T>;
  stop(): Promise<void>;
}

/** The cluster on a nats-server of its own (stopped with it). */
export interface VpoolCluster extends VpoolClusterOn {
  ns: NatsServer;
}

export interface VpoolClusterOptions {
  ips: string[];
  vpoolName: string;
  offlineAfterS: number;
  keepDataDirs?: boolean;
  testMode?: boolean;
  config?: Record<string, unknown>;
  bin?: string;
  /** More arguments of every agent (e.g. `--config` with `kvReplicas`). */
  agentArgs?: string[];
}

/** With `natsUrl` the agents use NATS servers the caller runs (and stops); otherwise a nats-server of its own. */
export function startVpoolCluster(o: VpoolClusterOptions & { natsUrl: string }): Promise<VpoolClusterOn>;
export function startVpoolCluster(o: VpoolClusterOptions): Promise<VpoolCluster>;
export async function startVpoolCluster(o: VpoolClusterOptions & { natsUrl?: string }): Promise<VpoolClusterOn & { ns?: NatsServer }> {
  const ns = o.natsUrl === undefined ? await NatsServer.start() : undefined;
  const natsUrl = o.natsUrl ?? ns!.url;
  const nc = await connectClient(natsUrl);
  const dir = await mkdtemp(join(tmpdir(), `ovs-${o.vpoolName}-`));
  const call = <T = unknown>(task: string, params: Record<string, unknown>): Promise<T> => request<T>(nc, `ovs.task.${task}`, params, { timeoutMs: 90_000 });
  const agents: AgentProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(agents.map((a) => a.stop()));
    await nc.close();
    await ns?.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    return await setUp();
  } catch (e) {
    // A cluster that fails half-way must not leave agent processes behind (the test never gets a handle to stop).
    await stop().catch(() => undefined);
    throw e;
  }

  async function setUp(): Promise<VpoolClusterOn & { ns?: NatsServer }> {
    for (const [i, ip] of o.ips.entries()) {
      agents.push(await AgentProcess.start({ natsUrl, name: `${o.vpoolName}-${i}`, ip, testMode: o.testMode, bin: o.bin, extraArgs: o.agentArgs, ...(o.keepDataDirs ? { dataDir: join(dir, `agent-${i}`) } : {}) }));
    }
    await request(nc, 'ovs.config.set', { key: OFFLINE_AFTER_KEY, value: o.offlineAfterS });
    // Keys the StorageDrivers read when they start (scrub grace, MDS timers).
    for (const [key, value] of Object.entries(o.config ?? {})) await request(nc, 'ovs.config.set', { key, value });
    // A port range of its own, so test files running side by side never race for the same ports.
    const base = 30_000 + Math.floor(Math.random() * 300) * 100;
    for (const a of agents) {
      const sr = await request<{ machine_id: string }>(nc, 'ovs.model.storagerouter.get', { guid: a.guid });
      await request(nc, 'ovs.config.set', { key: `/ovs/framework/hosts/${sr.machine_id}/ports`, value: { storagedriver: [[base, base + 99]] } });
    }
    const sds: ClusterStorageDriver[] = [];
    let vpool = '';
    for (const ip of o.ips) {
      const r = await call<{ vpool_guid: string; storagedriver_guid: string }>('storagerouter.add_vpool', { parameters: { vpool_name: o.vpoolName, storagerouter_ip: ip, backend_info: { type: 'local', path: join(dir, 'backend') } } });
      vpool = r.vpool_guid;
      sds.push(await request(nc, 'ovs.model.storagedriver.get', { guid: r.storagedriver_guid }));
    }
    return { ...(ns ? { ns } : {}), natsUrl, nc, dir, agents, sds, vpool, call, stop };
  }
}

/** qemu-io against an NBD URL; its whole output (a failed read or write says so in it). */
export async function qemuIo(url: string, cmd: string): Promise<string> {
  const r = await run('qemu-io', ['-f', 'raw', url, '-c', cmd]);
  return r.stdout + r.stderr;
}

import { statfs } from 'node:fs/promises';
import { hostname, loadavg, release, totalmem, freemem } from 'node:os';
import type { AgentServices } from '../agent-services.js';
import { installedNatsServerVersion, ownVersion } from '../host/versions.js';
import type { ModelObject } from '../model/schema.js';
import { redactSecrets } from './redact.js';

/** Depth of the host's configuration tree walked for the summary (`/ovs/framework/hosts/<machine id>/...`). */
const CONFIG_DEPTH = 6;

/**
 * What a support engineer asks first about a node, as one JSON document: the agent, the node, the vPools and
 * StorageDrivers it serves with their vDisks and DTL state, its MDS services and its host configuration (credentials
 * redacted). A part that cannot be read is listed in `errors` and the rest still comes.
 */
export async function stateSummary(s: AgentServices, now: Date): Promise<Record<string, unknown>> {
  const errors: string[] = [];
  const attempt = async <T>(what: string, f: () => Promise<T> | T): Promise<T | null> => {
    try {
      return await f();
    } catch (e) {
      errors.push(`${what}: ${(e as Error).message}`);
      return null;
    }
  };
  const me = s.storagerouterGuid;
  const sr = s.view.get('storagerouter', me);
  const storagedrivers = await Promise.all(s.view.list('storagedriver', { storagerouter_guid: me }).map((sd) => storagedriverSummary(s, sd, attempt)));
  return {
    collected_at: now.toISOString(),
    agent: {
      version: ownVersion(), node: process.version, nats_server: await installedNatsServerVersion(), pid: process.pid,
      uptime_s: Math.round(process.uptime()), data_dir: s.dataDir, connected_nats_server: s.nc.getServer(),
    },
    storagerouter: redactSecrets({ guid: me, name: sr.name, ip: sr.ip, machine_id: sr.machine_id, node_type: sr.node_type, last_heartbeat: sr.last_heartbeat, heartbeats: sr.heartbeats }),
    host: {
      hostname: hostname(), kernel: release(), loadavg: loadavg(), memory: { total: totalmem(), free: freemem() },
      data_dir_space: await attempt('data dir space', async () => {
        const f = await statfs(s.dataDir);
        return { total: f.blocks * f.bsize, available: f.bavail * f.bsize };
      }),
    },
    storagedrivers,
    mds_services: mdsServices(s, me),
    config: await attempt('host configuration', () => configTree(s, `/ovs/framework/hosts/${s.machineId}`, CONFIG_DEPTH)),
    errors,
  };
}

type Attempt = <T>(what: string, f: () => Promise<T> | T) => Promise<T | null>;

async function storagedriverSummary(s: AgentServices, sd: ModelObject, attempt: Attempt): Promise<Record<string, unknown>> {
  const vpool = s.view.find('vpool', String(sd.vpool_guid));
  const vdisks = await Promise.all(s.view.list('vdisk', { storagedriver_guid: sd.guid }).map(async (vd) => ({
    guid: vd.guid, name: vd.name, devicename: vd.devicename, volume_id: vd.volume_id, size: vd.size,
    dtl_status: await attempt(`DTL status of vDisk ${vd.guid}`, async () => (await s.computed.expandSettled('vdisk', vd)).dtl_status),
  })));
  return {
    guid: sd.guid, storagedriver_id: sd.storagedriver_id, storage_ip: sd.storage_ip, ports: sd.ports, mountpoint: sd.mountpoint,
    vpool: vpool ? { guid: vpool.guid, name: vpool.name, status: vpool.status, configuration: (vpool.metadata as Record<string, unknown> | undefined)?.configuration } : { guid: sd.vpool_guid, missing: true },
    vdisks,
  };
}

function mdsServices(s: AgentServices, me: string): Array<Record<string, unknown>> {
  return s.view.list('service', { storagerouter_guid: me }).flatMap((svc) =>
    s.view.list('mdsservice', { service_guid: svc.guid }).map((mds) => {
      const junctions = s.view.list('mdsservicevdisk', { mds_service_guid: mds.guid });
      return { guid: mds.guid, service: svc.name, ports: svc.ports, vpool_guid: mds.vpool_guid, number: mds.number, capacity: mds.capacity, vdisks: junctions.length, masters: junctions.filter((j) => j.is_master === true).length };
    }),
  );
}

/** The configuration below `path` as a map of full key → value, credentials redacted. */
async function configTree(s: AgentServices, path: string, depth: number): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const value = await s.config.get(path);
  if (value !== undefined) out[path] = redactSecrets(value);
  if (depth > 0) for (const child of await s.config.list(path)) Object.assign(out, await configTree(s, `${path}/${child}`, depth - 1));
  return out;
}

import { createServer } from 'node:net';
import { isAbsolute, normalize } from 'node:path';
import { z } from 'zod';
import { VpoolError } from '../../errors.js';
import { sleep } from '../../supervisors/backoff.js';
import { vpoolName } from '../params.js';
import { defineTask } from '../define.js';
import type { AgentServices } from '../../agent-services.js';

const TLOG_MULTIPLIER: Record<number, number> = { 4: 16, 8: 8, 16: 4, 32: 2, 64: 1, 128: 1 };

/** add_vpool parameters (spec §5.1.1) with a local-directory backend instead of ALBA. */
export const addVpoolParameters = z
  .object({
    vpool_name: vpoolName,
    storagerouter_ip: z.string().min(1).max(64),
    storage_ip: z.ipv4().optional(),
    backend_info: z.object({ type: z.literal('local'), path: z.string().min(1).max(1024).refine((p) => isAbsolute(p) && normalize(p) === p && !p.includes('..'), 'an absolute, normalised path') }).strict(),
    config_params: z
      .object({
        dtl_mode: z.enum(['sync', 'a_sync', 'no_sync']).optional(),
        sco_size: z.union([z.literal(4), z.literal(8), z.literal(16), z.literal(32), z.literal(64), z.literal(128)]).optional(),
        cluster_size: z.union([z.literal(4), z.literal(8), z.literal(16), z.literal(32), z.literal(64)]).optional(),
        write_buffer: z.number().int().min(128).max(10240).optional(),
        dtl_transport: z.enum(['tcp', 'rdma']).optional(),
      })
      .strict()
      .refine((c) => c.sco_size !== 128 || (c.write_buffer ?? 1024) >= 256, 'sco_size 128 needs write_buffer >= 256')
      .optional(),
    mds_config_params: z.object({ mds_tlogs: z.number().int().min(1).optional(), mds_safety: z.number().int().min(1).max(5).optional(), mds_maxload: z.number().int().min(10).optional() }).strict().optional(),
  })
  .strict();

function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/** Four free ports (management, xmlrpc, dtl, edge) from the host's storagedriver range, skipping modelled ones. */
async function freePorts(s: AgentServices, srGuid: string, machineId: string, ip: string): Promise<number[]> {
  const ranges = ((await s.config.get<Record<string, Array<number[] | number>>>(`/ovs/framework/hosts/${machineId}/ports`)) ?? {}).storagedriver ?? [[26200, 26299]];
  const used = new Set(s.view.list('storagedriver', { storagerouter_guid: srGuid }).flatMap((sd) => Object.values(sd.ports as Record<string, number>)));
  const local = srGuid === s.storagerouterGuid;
  const out: number[] = [];
  for (const r of ranges) {
    const [from, to] = Array.isArray(r) ? [r[0]!, r[1] ?? 65535] : [r, 65535];
    for (let p = from; p <= to && out.length < 4; p++) {
      if (used.has(p)) continue;
      if (local && !(await portFree(p, ip))) continue;
      out.push(p);
    }
  }
  if (out.length < 4) throw new VpoolError('no 4 free ports left in the storagedriver port range of this host', { ranges });
  return out;
}

export const addVpool = defineTask({
  module: 'storagerouter',
  name: 'add_vpool',
  summary: 'Add a vPool to the machine this task is running on',
  params: z.object({ parameters: addVpoolParameters }).strict(),
  // The target node is `parameters.storagerouter_ip`; the original runs it on any worker. The cluster singleton
  // makes concurrent add_vpool calls for one name see each other's model writes.
  owner: { kind: 'cluster' },
  async handler({ parameters: q }, ctx) {
    const s = ctx.services;
    const sr = s.view.list('storagerouter', { ip: q.storagerouter_ip })[0];
    if (!sr) throw new VpoolError(`no StorageRouter with IP ${q.storagerouter_ip}`, { storagerouter_ip: q.storagerouter_ip });
    let vpool = s.view.list('vpool', { name: q.vpool_name })[0];
    if (vpool) {
      if (vpool.status !== 'RUNNING') throw new VpoolError(`vPool ${q.vpool_name} is ${String(vpool.status)}, not RUNNING`);
      if (s.view.list('storagedriver', { vpool_guid: vpool.guid, storagerouter_guid: sr.guid }).length > 0) {
        throw new VpoolError(`vPool ${q.vpool_name} is already served on StorageRouter ${String(sr.name)}`);
      }
    } else {
      const c = q.config_params ?? {};
      const scoSize = c.sco_size ?? 4;
      const configuration = {
        sco_size: scoSize, cluster_size: c.cluster_size ?? 4, tlog_multiplier: TLOG_MULTIPLIER[scoSize]!, write_buffer: c.write_buffer ?? 1024,
        dtl_mode: c.dtl_mode ?? 'no_sync', dtl_transport: c.dtl_transport ?? 'tcp', dtl_enabled: false,
      };
      vpool = await s.store.create('vpool', {
        name: q.vpool_name, description: q.vpool_name, status: 'INSTALLING', rdma_enabled: configuration.dtl_transport === 'rdma', metadata_store_bits: 5,
        metadata: { backend: { backend_info: q.backend_info }, configuration },
      });
      const m = q.mds_config_params ?? {};
      await s.config.set(`/ovs/vpools/${vpool.guid}/mds_config`, { mds_tlogs: m.mds_tlogs ?? 100, mds_safety: m.mds_safety ?? 3, mds_maxload: m.mds_maxload ?? 75 });
    }
    try {
      const storageIp = q.storage_ip ?? String(sr.ip);
      const [management, xmlrpc, dtl, edge] = await freePorts(s, sr.guid, String(sr.machine_id), storageIp);
      const sdId = `${q.vpool_name}${String(sr.machine_id)}`;
      const sd = await s.store.create('storagedriver', {
        name: sdId, description: sdId, ports: { management, xmlrpc, dtl, edge }, cluster_ip: String(sr.ip), storage_ip: storageIp,
        storagedriver_id: sdId, mountpoint: `/mnt/${q.vpool_name}`, startup_counter: 0, vpool_guid: vpool.guid, storagerouter_guid: sr.guid,
      });
      // The StorageRouter's agent starts the volume driver; it is up when it reports up_and_running.
      while (Number(s.view.find('storagedriver', sd.guid)?.startup_counter ?? 0) < 1) {
        if (Date.now() > ctx.deadline - 500) throw new VpoolError(`StorageDriver ${sdId} did not come up in time`);
        await sleep(50);
      }
      await s.store.update('vpool', vpool.guid, (v) => (v.status = 'RUNNING'));
      return { vpool_guid: vpool.guid, storagedriver_guid: sd.guid };
    } catch (e) {
      await s.store.update('vpool', vpool.guid, (v) => (v.status = v.status === 'INSTALLING' ? 'FAILURE' : v.status)).catch(() => undefined);
      throw e;
    }
  },
});

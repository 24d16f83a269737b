import { prepareMdsService, removeMdsService } from '../mds/mds-services.js';
import { mdsServicesOn } from '../../storagedriver/mds-model.js';
import { createServer } from 'node:net';
import { isAbsolute, normalize } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { asOvsError, type OvsError, VpoolError } from '../../errors.js';
import { opsSubject } from '../../protocol/subjects.js';
import { sleep } from '../../supervisors/backoff.js';
import { guid, vpoolName } from '../params.js';
import { defineTask } from '../define.js';
import type { AgentServices } from '../../agent-services.js';
import type { ModelObject } from '../../model/schema.js';

const TLOG_MULTIPLIER: Record<number, number> = { 4: 16, 8: 8, 16: 4, 32: 2, 64: 1, 128: 1 };

const albaPreset = z.string().regex(/^[0-9a-zA-Z][a-zA-Z0-9-_]{1,18}[a-zA-Z0-9]$/, 'an ALBA preset name');
/** The original's ALBA backend (`{preset, alba_backend_guid}`): accepted, it names nothing here. */
const albaBackendInfo = z.object({ preset: albaPreset, alba_backend_guid: guid }).strict();
const localBackendInfo = z
  .object({
    type: z.literal('local'),
    path: z.string().min(1).max(1024).refine((p) => isAbsolute(p) && normalize(p) === p && !p.includes('..'), 'an absolute, normalised path'),
    preset: albaPreset.optional(),
    alba_backend_guid: guid.optional(),
  })
  .strict();
/** A backend in the JetStream Object Store of the agents' NATS; the bucket defaults to `ovs_backend_<vpool guid>`. */
const natsBackendInfo = z
  .object({
    type: z.literal('nats'),
    bucket: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a bucket name of 1 to 64 letters, digits, - and _').optional(),
    preset: albaPreset.optional(),
    alba_backend_guid: guid.optional(),
  })
  .strict();
const connectionInfo = z
  .object({ host: z.union([z.ipv4(), z.literal('')]), port: z.number().int().min(1).max(65535), client_id: z.string().max(256), client_secret: z.string().max(256), local: z.boolean().optional() })
  .strict();
const cacheQuota = z.number().int().nonnegative().nullable().optional();
const cachingInfo = z
  .object({
    cache_quota_bc: cacheQuota, cache_quota_fc: cacheQuota,
    block_cache_on_read: z.boolean().optional(), block_cache_on_write: z.boolean().optional(),
    fragment_cache_on_read: z.boolean().optional(), fragment_cache_on_write: z.boolean().optional(),
  })
  .strict();

/** Keys of the original's parameters that configure ALBA, its proxies and caches: accepted and reported as ignored. */
const IGNORED_KEYS = ['connection_info', 'backend_info_bc', 'connection_info_bc', 'backend_info_fc', 'connection_info_fc', 'caching_info', 'writecache_size', 'parallelism'] as const;

/** add_vpool parameters (spec §5.1.1) with a local-directory or NATS backend instead of ALBA; the original's other keys are accepted. */
export const addVpoolParameters = z
  .object({
    vpool_name: vpoolName,
    storagerouter_ip: z.string().min(1).max(64),
    storage_ip: z.ipv4().optional(),
    backend_info: z.union([localBackendInfo, natsBackendInfo, albaBackendInfo]),
    config_params: z
      .object({
        dtl_mode: z.enum(['sync', 'a_sync', 'no_sync']).optional(),
        sco_size: z.union([z.literal(4), z.literal(8), z.literal(16), z.literal(32), z.literal(64), z.literal(128)]).optional(),
        cluster_size: z.union([z.literal(4), z.literal(8), z.literal(16), z.literal(32), z.literal(64)]).optional(),
        write_buffer: z.number().int().min(128).max(10240).optional(),
        dtl_transport: z.enum(['tcp', 'rdma']).optional(),
        advanced: z.object({ number_of_scos_in_tlog: z.number().int().min(4).max(20), non_disposable_scos_factor: z.number().min(1.5).max(20) }).strict().optional(),
      })
      .strict()
      .refine((c) => c.sco_size !== 128 || (c.write_buffer ?? 1024) >= 256, 'sco_size 128 needs write_buffer >= 256')
      .optional(),
    mds_config_params: z.object({ mds_tlogs: z.number().int().min(1).optional(), mds_safety: z.number().int().min(1).max(5).optional(), mds_maxload: z.number().int().min(10).optional() }).strict().optional(),
    connection_info: connectionInfo.nullable().optional(),
    backend_info_bc: albaBackendInfo.nullable().optional(),
    connection_info_bc: connectionInfo.nullable().optional(),
    backend_info_fc: albaBackendInfo.nullable().optional(),
    connection_info_fc: connectionInfo.nullable().optional(),
    caching_info: cachingInfo.nullable().optional(),
    writecache_size: z.number().int().min(1).max(10240).optional(),
    parallelism: z.object({ proxies: z.number().int().min(1).max(16) }).strict().optional(),
  })
  .strict();

type AddVpoolParameters = z.infer<typeof addVpoolParameters>;

function ignoredKeys(q: AddVpoolParameters, extending: boolean): string[] {
  const out: string[] = IGNORED_KEYS.filter((k) => q[k] !== undefined && q[k] !== null);
  if (q.backend_info.preset !== undefined) out.push('backend_info.preset');
  if (q.backend_info.alba_backend_guid !== undefined) out.push('backend_info.alba_backend_guid');
  if (q.config_params?.advanced) out.push('config_params.advanced');
  // The original reads mds_config_params only when it creates the vPool.
  if (extending && q.mds_config_params) out.push('mds_config_params');
  return out;
}

/** The backend as stored on the vPool: the given backend_info without the ALBA keys; undefined for an ALBA-only one. */
function ownBackendInfo(info: AddVpoolParameters['backend_info']): Record<string, unknown> | undefined {
  if (!('type' in info)) return undefined;
  if (info.type === 'nats') return info.bucket === undefined ? { type: info.type } : { type: info.type, bucket: info.bucket };
  const { type, path } = info;
  return { type, path };
}

interface Difference { key: string; given: unknown; expected: unknown }

/** Extending must not change the vPool: its backend and every given configuration value must be the vPool's. */
function checkExtendable(vpool: ModelObject, q: AddVpoolParameters): void {
  const metadata = (vpool.metadata ?? {}) as { backend?: { backend_info?: Record<string, unknown> }; configuration?: Record<string, unknown> };
  const differences: Difference[] = [];
  const given = ownBackendInfo(q.backend_info);
  if (given) {
    const stored = metadata.backend?.backend_info ?? {};
    for (const key of new Set([...Object.keys(given), ...Object.keys(stored)])) {
      if (!isDeepStrictEqual(given[key], stored[key])) differences.push({ key: `backend_info.${key}`, given: given[key] ?? null, expected: stored[key] ?? null });
    }
  }
  const { advanced: _advanced, ...config } = q.config_params ?? {};
  for (const [key, value] of Object.entries(config)) {
    const expected = metadata.configuration?.[key];
    if (!isDeepStrictEqual(value, expected)) differences.push({ key: `config_params.${key}`, given: value, expected: expected ?? null });
  }
  if (differences.length > 0) {
    const text = differences.map((d) => `${d.key} is ${JSON.stringify(d.given)}, the vPool's is ${JSON.stringify(d.expected)}`).join('; ');
    throw new VpoolError(`vPool ${String(vpool.name)} cannot be extended with other settings: ${text}`, { vpool_guid: vpool.guid, differences });
  }
}

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

async function createVpool(s: AgentServices, q: AddVpoolParameters, backendInfo: Record<string, unknown>): Promise<ModelObject> {
  const c = q.config_params ?? {};
  const scoSize = c.sco_size ?? 4;
  const configuration = {
    sco_size: scoSize, cluster_size: c.cluster_size ?? 4, tlog_multiplier: TLOG_MULTIPLIER[scoSize]!, write_buffer: c.write_buffer ?? 1024,
    // The original's default is a_sync; only no_sync turns the vPool's DTL off.
    dtl_mode: c.dtl_mode ?? 'a_sync', dtl_transport: c.dtl_transport ?? 'tcp', dtl_enabled: (c.dtl_mode ?? 'a_sync') !== 'no_sync',
  };
  const vpool = await s.store.create('vpool', {
    name: q.vpool_name, description: q.vpool_name, status: 'INSTALLING', rdma_enabled: configuration.dtl_transport === 'rdma', metadata_store_bits: 5,
    metadata: { backend: { backend_info: backendInfo }, configuration },
  });
  const m = q.mds_config_params ?? {};
  await s.config.set(`/ovs/vpools/${vpool.guid}/mds_config`, { mds_tlogs: m.mds_tlogs ?? 100, mds_safety: m.mds_safety ?? 3, mds_maxload: m.mds_maxload ?? 75 });
  return vpool;
}

/** The target's agent starts the volume driver, so it must be there (the original refuses an unreachable target). */
async function checkAnswers(s: AgentServices, sr: ModelObject): Promise<void> {
  const up = await s.nc.request(opsSubject(sr.guid, 'info'), new Uint8Array(), { timeout: 1_000 }).then(() => true, () => false);
  if (!up) throw new VpoolError(`StorageRouter ${String(sr.name)} (${String(sr.ip)}) does not answer`, { storagerouter_guid: sr.guid });
}

/** RUNNING → EXTENDING with compare-and-set, so two extensions of one vPool never overlap. */
async function startExtending(s: AgentServices, vpool: ModelObject): Promise<void> {
  await s.store.update('vpool', vpool.guid, (v) => {
    if (v.status !== 'RUNNING') throw new VpoolError(`vPool ${String(vpool.name)} is ${String(v.status)}, not RUNNING`, { vpool_guid: vpool.guid });
    v.status = 'EXTENDING';
  });
}

/** Models the StorageDriver; the StorageRouter's agent starts its volume driver when it sees it in the model. */
async function createStorageDriver(s: AgentServices, q: AddVpoolParameters, vpool: ModelObject, sr: ModelObject): Promise<ModelObject> {
  const storageIp = q.storage_ip ?? String(sr.ip);
  const [management, xmlrpc, dtl, edge] = await freePorts(s, sr.guid, String(sr.machine_id), storageIp);
  const sdId = `${q.vpool_name}${String(sr.machine_id)}`;
  return s.store.create('storagedriver', {
    name: sdId, description: sdId, ports: { management, xmlrpc, dtl, edge }, cluster_ip: String(sr.ip), storage_ip: storageIp,
    storagedriver_id: sdId, mountpoint: `/mnt/${q.vpool_name}`, startup_counter: 0, vpool_guid: vpool.guid, storagerouter_guid: sr.guid,
  });
}

/**
 * The volume driver is up once it reported up_and_running (`startup_counter`). A StorageDriver that failed to start
 * on its node (a port taken there, a backend it cannot reach) says why at once instead of running into the deadline.
 */
async function waitUntilUp(s: AgentServices, sd: ModelObject, deadline: number): Promise<void> {
  let startFailure: OvsError | undefined;
  let probing = false;
  const probe = (): void => {
    probing = true;
    s.voldrv(sd.guid).list_volumes({}).then(
      () => undefined,
      (e: unknown) => {
        const err = asOvsError(e);
        if (err.details.start_failed === true) startFailure = err;
        else setTimeout(() => (probing = false), 500);
      },
    );
  };
  while (Number(s.view.find('storagedriver', sd.guid)?.startup_counter ?? 0) < 1) {
    if (startFailure) throw new VpoolError(startFailure.message, { storagedriver_guid: sd.guid, cause: startFailure.details.cause });
    if (Date.now() > deadline - 500) throw new VpoolError(`StorageDriver ${String(sd.storagedriver_id)} did not come up in time`, { storagedriver_guid: sd.guid });
    if (!probing) probe();
    await sleep(50);
  }
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
    await checkAnswers(s, sr);
    const existing = s.view.list('vpool', { name: q.vpool_name })[0];
    const ignored = ignoredKeys(q, existing !== undefined);
    if (!existing) {
      const backendInfo = ownBackendInfo(q.backend_info);
      if (!backendInfo) throw new VpoolError(`vPool ${q.vpool_name} needs backend_info {type: "local", path} or {type: "nats", bucket?}: there are no ALBA backends here`, { vpool_name: q.vpool_name });
      const vpool = await createVpool(s, q, backendInfo);
      try {
        const sd = await createStorageDriver(s, q, vpool, sr);
        await prepareMdsService(s, vpool, sr);
        await waitUntilUp(s, sd, ctx.deadline);
        await s.store.update('vpool', vpool.guid, (v) => (v.status = 'RUNNING'));
        return { vpool_guid: vpool.guid, storagedriver_guid: sd.guid, ignored };
      } catch (e) {
        await s.store.update('vpool', vpool.guid, (v) => (v.status = v.status === 'INSTALLING' ? 'FAILURE' : v.status)).catch(() => undefined);
        throw e;
      }
    }
    if (existing.status !== 'RUNNING') throw new VpoolError(`vPool ${q.vpool_name} is ${String(existing.status)}, not RUNNING`, { vpool_guid: existing.guid });
    if (s.view.list('storagedriver', { vpool_guid: existing.guid, storagerouter_guid: sr.guid }).length > 0) {
      throw new VpoolError(`vPool ${q.vpool_name} is already served on StorageRouter ${String(sr.name)}`, { vpool_guid: existing.guid, storagerouter_guid: sr.guid });
    }
    checkExtendable(existing, q);
    await startExtending(s, existing);
    let sd: ModelObject | undefined;
    try {
      sd = await createStorageDriver(s, q, existing, sr);
      if (mdsServicesOn(s.view, existing.guid, sr.guid).length === 0) await prepareMdsService(s, existing, sr);
      await waitUntilUp(s, sd, ctx.deadline);
      await s.store.update('vpool', existing.guid, (v) => (v.status = 'RUNNING'));
      // Spec §5.1.2: the new node's MDS services take slaves of vDisks that had too few copies.
      await s.call('mds.mds_checkup_single', { vpool_guid: existing.guid }, ctx.deadline).catch((err: unknown) => ctx.log.warn({ err, vpool_guid: existing.guid }, 'MDS checkup after extending the vPool had errors'));
      // Spec §5.1.2: vDisks that ran standalone or far away may now keep their DTL on the new node.
      await s.call('vdisk.dtl_checkup', { vpool_guid: existing.guid }).catch((err: unknown) => ctx.log.warn({ err, vpool_guid: existing.guid }, 'DTL checkup after extending the vPool had errors'));
      return { vpool_guid: existing.guid, storagedriver_guid: sd.guid, ignored };
    } catch (e) {
      // The vPool is as it was before: the half-added StorageDriver goes (its agent stops what it started).
      const half = sd?.guid;
      for (const mds of mdsServicesOn(s.view, existing.guid, sr.guid)) await removeMdsService(s, mds, true).catch(() => undefined);
      if (half) await s.store.delete('storagedriver', half).catch((err: unknown) => ctx.log.warn({ err, storagedriver_guid: half }, 'could not remove the StorageDriver of a failed extension'));
      await s.store.update('vpool', existing.guid, (v) => (v.status = 'RUNNING')).catch((err: unknown) => ctx.log.warn({ err }, 'could not set the vPool RUNNING again'));
      throw e;
    }
  },
});

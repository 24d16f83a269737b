import type { Logger } from 'pino';
import type { AgentServices } from '../../agent-services.js';
import { MdsError, MdsSafetyError, asOvsError } from '../../errors.js';
import { mdsClient, type MdsClient } from '../../mds/client.js';
import type { ModelObject } from '../../model/schema.js';
import { planSafety, promotionCandidates, type MdsServiceView, type SafetyInput } from '../../policies/mds-safety.js';
import { domainsOf } from '../../storagedriver/dtl-model.js';
import { MDS_TIMEOUT_KEY } from '../../storagedriver/host.js';
import { mdsAddress } from '../../storagedriver/mds-model.js';
import { UsableStorageDrivers } from '../usable-storagedrivers.js';
import { mdsConfigOf, mdsServiceViews } from './mds-services.js';

export interface SafetyOutcome {
  vdisk_guid: string;
  changed: boolean;
  reasons: string[];
  /** The vDisk's MDS services afterwards, master first (`ip:port`). */
  config: string[];
}

const addressOf = (s: MdsServiceView): string => `${s.ip}:${s.port}`;

/**
 * ensure_safety for one vDisk (§4.3): plan with the pure policy, then apply so that nothing is half done: namespaces
 * are created and caught up first, the volume switches to the whole new list in one call (its driver makes the new
 * master current before it stores anything), and only then are roles set and dropped copies removed. A failure
 * before the switch removes what this run created and leaves the vDisk's configuration as it was.
 */
export async function ensureSafety(s: AgentServices, log: Logger, vdiskGuid: string, excluded: readonly string[]): Promise<SafetyOutcome> {
  const vdisk = s.view.get('vdisk', vdiskGuid);
  for (const sr of excluded) s.view.get('storagerouter', sr);
  const sd = s.view.find('storagedriver', String(vdisk.storagedriver_guid));
  if (!sd) throw new MdsSafetyError(`vDisk ${String(vdisk.name)} is not served by any StorageDriver`, { vdisk_storagerouter: '', reason: 'not_member' });
  const vpoolGuid = String(vdisk.vpool_guid);
  const volumeId = String(vdisk.volume_id);
  const cfg = await mdsConfigOf(s, vpoolGuid);
  const timeoutS = Number(await s.config.get<number>(MDS_TIMEOUT_KEY).catch(() => undefined));
  const client = (address: string): MdsClient => mdsClient(address, s.nc, timeoutS > 0 ? timeoutS * 1000 : 20_000);
  // Phase A: the vDisk must run (its driver is the one that switches masters).
  const info = await s.voldrv(sd.guid).info_volume({ volume_id: volumeId });
  if (info.halted) throw new MdsError(`vDisk ${String(vdisk.name)} is halted: its MDS configuration cannot change now`, { volume_id: volumeId });
  const current = info.metadata_backend_config.map((n) => ({ ip: n.address, port: n.port }));

  const usable = new UsableStorageDrivers(s);
  await usable.probeVpool(vpoolGuid, sd.guid);
  const hostsVpool = new Set(s.view.list('storagedriver', { vpool_guid: vpoolGuid }).map((x) => String(x.storagerouter_guid)));
  const storagerouters = s.view.list('storagerouter').map((sr) => {
    const d = domainsOf(s.view, sr.guid);
    return { guid: sr.guid, ip: String(sr.ip), regularDomains: d.regular, recoveryDomains: d.recovery, hostsVpool: hostsVpool.has(sr.guid), reachable: usable.isUsable(vpoolGuid, sr.guid) };
  });
  const services = mdsServiceViews(s, vpoolGuid);
  const base: Omit<SafetyInput, 'tlogsBehind'> = {
    vdiskStoragerouter: String(sd.storagerouter_guid), excluded, storagerouters, services, current, safety: cfg.mds_safety, maxLoad: cfg.mds_maxload, tlogsThreshold: cfg.mds_tlogs,
  };
  const tlogsBehind: Record<string, number | 'no_namespace'> = {};
  for (const candidate of promotionCandidates(base)) {
    const c = client(addressOf(candidate));
    const behind = await dryRun(c, volumeId).catch((e: unknown) => {
      log.warn({ err: e, mds: c.address, vdisk_guid: vdiskGuid }, 'MDS slave could not say how far behind it is; it is not promoted now');
      return undefined;
    });
    if (behind !== undefined) tlogsBehind[candidate.id] = behind;
  }
  const plan = planSafety({ ...base, tlogsBehind });
  if (!plan.change) {
    await syncJunctions(s, vdisk, info.metadata_backend_config.map((n) => `${n.address}:${n.port}`));
    return { vdisk_guid: vdiskGuid, changed: false, reasons: [], config: current.map((n) => `${n.ip}:${n.port}`) };
  }
  log.info({ vdisk_guid: vdiskGuid, reasons: plan.reasons, from: current.map((n) => `${n.ip}:${n.port}`), to: plan.list.map(addressOf) }, 'reconfiguring the MDS services of a vDisk');

  const created: MdsClient[] = [];
  const undo = async (): Promise<void> => {
    for (const c of created) await c.remove_namespace(volumeId).catch(() => undefined);
  };
  const currentAddresses = new Set(current.map((n) => `${n.ip}:${n.port}`));
  try {
    for (const service of plan.list) {
      const c = client(addressOf(service));
      if (!(await c.list_namespaces()).includes(volumeId)) {
        await c.create_namespace(volumeId);
        created.push(c);
      }
    }
    // New slaves start current (and as SLAVE); the master in use keeps its role until the switch.
    for (const service of plan.list.slice(1)) {
      const address = addressOf(service);
      if (address === current.map((n) => `${n.ip}:${n.port}`)[0]) continue;
      const c = client(address);
      await c.set_role(volumeId, 'SLAVE');
      if (!currentAddresses.has(address) || service === plan.catchUpBeforeApply) await c.catch_up(volumeId, false);
    }
    if (plan.catchUpBeforeApply) await client(addressOf(plan.catchUpBeforeApply)).catch_up(volumeId, false);
    await s.voldrv(sd.guid).update_metadata_backend_config({
      volume_id: volumeId, metadata_backend_config: plan.list.map((x) => ({ address: x.ip, port: x.port })), max_tlogs_behind: cfg.mds_tlogs,
    });
  } catch (e) {
    await undo();
    throw e;
  }
  const applied = (await s.voldrv(sd.guid).info_volume({ volume_id: volumeId })).metadata_backend_config.map((n) => `${n.address}:${n.port}`);
  await syncJunctions(s, vdisk, applied);
  for (const service of plan.dropped) {
    await client(addressOf(service)).remove_namespace(volumeId).catch((e: unknown) => log.warn({ err: e, mds: addressOf(service), vdisk_guid: vdiskGuid }, 'could not remove the namespace from a dropped MDS service; its next checkup does'));
  }
  // The old master now follows the backend like any slave.
  for (const address of applied.slice(1)) {
    const c = client(address);
    const role = await c.get_role(volumeId).catch(() => undefined);
    if (role && role.role !== 'SLAVE') await c.set_role(volumeId, 'SLAVE');
  }
  return { vdisk_guid: vdiskGuid, changed: true, reasons: plan.reasons, config: applied };
}

async function dryRun(c: MdsClient, volumeId: string): Promise<number | 'no_namespace'> {
  try {
    return (await c.catch_up(volumeId, true)).tlogs;
  } catch (e) {
    if (asOvsError(e).type !== 'MDS_NAMESPACE_NOT_FOUND') throw e;
    return 'no_namespace';
  }
}

/** The model's MDS junctions of a vDisk follow what its volume driver has (§2.8.3): one per service, master first. */
export async function syncJunctions(s: AgentServices, vdisk: ModelObject, addresses: string[]): Promise<void> {
  const byAddress = new Map(s.view.list('mdsservice', { vpool_guid: String(vdisk.vpool_guid) }).flatMap((m) => {
    const a = mdsAddress(s.view, m);
    return a ? [[a, m] as const] : [];
  }));
  const wanted = new Map<string, boolean>();
  addresses.forEach((a, i) => {
    const mds = byAddress.get(a);
    if (mds && !wanted.has(mds.guid)) wanted.set(mds.guid, i === 0);
  });
  const seen = new Set<string>();
  for (const j of s.view.list('mdsservicevdisk', { vdisk_guid: vdisk.guid })) {
    const service = String(j.mds_service_guid);
    if (!wanted.has(service) || seen.has(service)) {
      await s.store.delete('mdsservicevdisk', j.guid);
      continue;
    }
    seen.add(service);
    if (j.is_master !== wanted.get(service)) await s.store.update('mdsservicevdisk', j.guid, (x) => (x.is_master = wanted.get(service)));
  }
  for (const [service, isMaster] of wanted) {
    if (!seen.has(service)) await s.store.create('mdsservicevdisk', { is_master: isMaster, vdisk_guid: vdisk.guid, mds_service_guid: service });
  }
}

import { z } from 'zod';
import type { AgentServices } from '../../agent-services.js';
import type { DtlConfig, DtlConfigMode, DtlState } from '../../dataplane/dtl/config.js';
import { asOvsError, DtlCheckupError, ValidationError } from '../../errors.js';
import type { ModelObject } from '../../model/schema.js';
import { decideDtlCheckup, type DtlCheckupDecision } from '../../policies/dtl-checkup.js';
import { candidatesFor, storagedriverAt, storagedriverOf, vpoolDtlOf } from '../../storagedriver/dtl-model.js';
import { sleep } from '../../supervisors/backoff.js';
import { defineTask } from '../define.js';
import { guid, guidList } from '../params.js';
import { UsableStorageDrivers } from '../usable-storagedrivers.js';

interface VolumeDtl {
  config: DtlConfig | null;
  configMode: DtlConfigMode;
  state: DtlState;
}

/** One checkup at a time per vDisk on this agent (the original's `dtl_checkup_<vdisk guid>` mutex). */
const locks = new Map<string, Promise<unknown>>();
function underLock<T>(vdiskGuid: string, work: () => Promise<T>): Promise<T> {
  const run = (locks.get(vdiskGuid) ?? Promise.resolve()).then(work, work);
  const tail = run.catch(() => undefined);
  locks.set(vdiskGuid, tail);
  void tail.then(() => {
    if (locks.get(vdiskGuid) === tail) locks.delete(vdiskGuid);
  });
  return run;
}

/** The vDisks a checkup covers; a vPool or vDisk that is gone means nothing to do (spec §3.20). */
async function workSet(s: AgentServices, p: { vpool_guid?: string | null; vdisk_guid?: string | null }): Promise<ModelObject[]> {
  if (p.vdisk_guid) {
    // A vDisk created a moment ago on another agent reaches this agent's view through the KV watch.
    for (let i = 0; i < 40 && !s.view.find('vdisk', p.vdisk_guid); i++) await sleep(50);
    const vd = s.view.find('vdisk', p.vdisk_guid);
    return vd ? [vd] : [];
  }
  if (p.vpool_guid) return s.view.find('vpool', p.vpool_guid) ? s.view.list('vdisk', { vpool_guid: p.vpool_guid }) : [];
  return s.view.list('vdisk');
}

async function readVolumeDtl(s: AgentServices, vd: ModelObject): Promise<VolumeDtl> {
  const api = s.voldrv(String(vd.storagedriver_guid));
  const volumeId = String(vd.volume_id);
  const [config, configMode, info] = await Promise.all([
    api.get_dtl_config({ volume_id: volumeId }), api.get_dtl_config_mode({ volume_id: volumeId }), api.info_volume({ volume_id: volumeId }),
  ]);
  return { config, configMode, state: info.failover_mode };
}

/** DTLs per StorageRouter across the vPools of the work set, so new targets spread (one call per usable StorageDriver). */
async function dtlLoads(s: AgentServices, vpools: readonly string[], usability: UsableStorageDrivers): Promise<Map<string, number>> {
  const loads = new Map<string, number>();
  await Promise.all(vpools.flatMap((vpool) => s.view.list('storagedriver', { vpool_guid: vpool }).map(async (owner) => {
    if (!usability.isUsable(vpool, String(owner.storagerouter_guid))) return;
    const configs = await s.voldrv(owner.guid).dtl_configs({}).catch(() => ({}));
    for (const config of Object.values(configs)) {
      const sd = config ? storagedriverAt(s.view, vpool, config.host) : undefined;
      if (sd) loads.set(String(sd.storagerouter_guid), (loads.get(String(sd.storagerouter_guid)) ?? 0) + 1);
    }
  })));
  return loads;
}

export interface CheckupOutcome {
  vdisks: number;
  /** vDisk guid → the StorageRouter now holding its DTL (null: standalone). */
  configured: Record<string, string | null>;
  /** vDisks whose DEGRADED DTL was re-applied. */
  repaired: string[];
}

async function apply(
  s: AgentServices,
  vd: ModelObject,
  current: VolumeDtl,
  d: Exclude<DtlCheckupDecision, { kind: 'keep' }>,
  loads: Map<string, number>,
  out: CheckupOutcome,
): Promise<void> {
  const api = s.voldrv(String(vd.storagedriver_guid));
  if (d.kind === 'reapply') {
    await api.set_manual_dtl_config({ volume_id: String(vd.volume_id), config: current.config });
    out.repaired.push(vd.guid);
    return;
  }
  let config: DtlConfig | null = null;
  if (d.target !== null) {
    const sd = storagedriverOf(s.view, String(vd.vpool_guid), d.target);
    if (!sd || d.mode === null) throw new Error(`StorageRouter ${d.target} has no StorageDriver of the vPool`);
    config = { host: String(sd.storage_ip), port: (sd.ports as { dtl: number }).dtl, mode: d.mode };
  }
  await api.set_manual_dtl_config({ volume_id: String(vd.volume_id), config });
  if (d.target !== null) loads.set(d.target, (loads.get(d.target) ?? 0) + 1);
  if (vd.has_manual_dtl === true) await s.store.update('vdisk', vd.guid, (v) => (v.has_manual_dtl = false));
  out.configured[vd.guid] = d.target;
}

export const dtlCheckup = defineTask({
  module: 'vdisk',
  name: 'dtl_checkup',
  summary: 'Check DTL for all volumes, for all volumes of a vPool or for 1 specific volume',
  params: z
    .object({
      vpool_guid: guid.nullable().optional(),
      vdisk_guid: guid.nullable().optional(),
      storagerouters_to_exclude: guidList.nullable().optional(),
    })
    .strict(),
  owner: { kind: 'cluster' },
  ensureSingle: { mode: 'DEDUPED' },
  async handler(p, { services: s, log }) {
    if (p.vpool_guid && p.vdisk_guid) throw new ValidationError('vpool_guid and vdisk_guid exclude each other', [{ path: 'vdisk_guid', message: 'give vpool_guid or vdisk_guid, not both' }]);
    const vdisks = await workSet(s, p);
    const out: CheckupOutcome = { vdisks: vdisks.length, configured: {}, repaired: [] };
    if (vdisks.length === 0) {
      if (p.vdisk_guid || p.vpool_guid) log.warn({ vdisk_guid: p.vdisk_guid, vpool_guid: p.vpool_guid }, 'DTL checkup of something that no longer exists');
      return out;
    }
    const problems: string[] = [];
    const exclude = p.storagerouters_to_exclude ?? [];
    const usability = new UsableStorageDrivers(s);
    const vpools = [...new Set(vdisks.map((vd) => String(vd.vpool_guid)))];
    for (const vpool of vpools) {
      const withOwner = vdisks.find((vd) => vd.vpool_guid === vpool && vd.storagedriver_guid);
      if (withOwner) await usability.probeVpool(vpool, String(withOwner.storagedriver_guid));
    }
    const loads = await dtlLoads(s, vpools, usability);
    for (const vd of vdisks) {
      try {
        await underLock(vd.guid, () => checkOne(s, vd.guid, exclude, usability, loads, out, log));
      } catch (e) {
        problems.push(`vDisk ${vd.guid} (${String(vd.name)}): ${asOvsError(e).message}`);
        log.error({ err: e, vdisk_guid: vd.guid }, 'DTL checkup of a vDisk failed');
      }
    }
    if (problems.length > 0) throw new DtlCheckupError(problems);
    return out;
  },
});

async function checkOne(
  s: AgentServices,
  vdiskGuid: string,
  exclude: readonly string[],
  usability: UsableStorageDrivers,
  loads: Map<string, number>,
  out: CheckupOutcome,
  log: { info(o: object, m: string): void; warn(o: object, m: string): void },
): Promise<void> {
  // Read again under the lock: a checkup that ran meanwhile may have changed the flag.
  const vd = s.view.find('vdisk', vdiskGuid);
  if (!vd) return;
  const ownerSd = s.view.find('storagedriver', String(vd.storagedriver_guid));
  if (!ownerSd) {
    log.warn({ vdisk_guid: vd.guid }, 'vDisk has no StorageDriver in the model; DTL checkup skipped');
    return;
  }
  const vpool = String(vd.vpool_guid);
  const current = await readVolumeDtl(s, vd);
  const ownerSr = String(ownerSd.storagerouter_guid);
  const target = current.config ? storagedriverAt(s.view, vpool, current.config.host) : undefined;
  const settings = vpoolDtlOf(s.view, vpool);
  const decision = decideDtlCheckup({
    vpoolDtlEnabled: settings.enabled,
    vpoolDtlMode: settings.mode,
    ...current,
    manual: vd.has_manual_dtl === true,
    currentTarget: target ? String(target.storagerouter_guid) : null,
    currentTargetPort: target ? (target.ports as { dtl: number }).dtl : null,
    candidates: candidatesFor(s.view, vd, ownerSr),
    usable: candidatesFor(s.view, vd, ownerSr, { exclude, usable: (sr) => usability.isUsable(vpool, sr), load: (sr) => loads.get(sr) ?? 0 }),
  });
  if (decision.kind === 'keep') {
    if (decision.warning) log.warn({ vdisk_guid: vd.guid, dtl: current.config }, `OVS_WARNING: ${decision.warning}`);
    return;
  }
  log.info({ vdisk_guid: vd.guid, decision }, 'DTL checkup changes the vDisk\'s DTL');
  await apply(s, vd, current, decision, loads, out);
}

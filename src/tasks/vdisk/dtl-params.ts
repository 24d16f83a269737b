import type { Logger } from 'pino';
import type { AgentServices } from '../../agent-services.js';
import type { DtlConfig } from '../../dataplane/dtl/config.js';
import { asOvsError } from '../../errors.js';
import { manualFlag, toDriverMode, toFrameworkMode, type FrameworkDtlMode } from '../../policies/dtl-mode.js';
import { candidatesFor, targetDomainsOf, vpoolDtlOf } from '../../storagedriver/dtl-model.js';
import type { VdiskOwner } from '../owner-resources.js';

const sameSet = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x) => b.includes(x));

/**
 * The DTL part of set_config_params (spec §3.19 step 2), after the input was checked: only when the mode or the
 * targets change. Returns the problems; a failure (here or `earlierFailed`) restores the previous manual flag.
 */
export async function applyDtlParams(
  s: AgentServices,
  owner: VdiskOwner,
  mode: FrameworkDtlMode,
  targets: readonly string[],
  earlierFailed: boolean,
  log: Logger,
): Promise<string[]> {
  const { storagedriver: { driver, sd: ownerSd }, volumeId, vdiskGuid } = owner;
  const wanted = [...new Set(targets)];
  const old = driver.get_dtl_config({ volume_id: volumeId });
  if (mode === toFrameworkMode(old?.mode) && sameSet(wanted, old ? targetDomainsOf(s.view, vdiskGuid) : [])) return [];
  const vdisk = s.view.get('vdisk', vdiskGuid);
  const previous = vdisk.has_manual_dtl === true;
  // Saved before the driver changes: the DTL state event this causes must see it.
  await s.store.update('vdisk', vdiskGuid, (d) => (d.has_manual_dtl = manualFlag(mode, wanted, vpoolDtlOf(s.view, String(vdisk.vpool_guid)).enabled)));
  const problems: string[] = [];
  try {
    const driverMode = toDriverMode(mode);
    if (driverMode === null) {
      await driver.set_manual_dtl_config({ volume_id: volumeId, config: null });
      await replaceTargetDomains(s, vdiskGuid, []);
    } else if (await configureFirst(s, owner, candidateConfigs(s, vdiskGuid, String(ownerSd.storagerouter_guid), wanted, driverMode))) {
      await replaceTargetDomains(s, vdiskGuid, wanted);
    } else {
      problems.push('no DTL target could be configured: no other StorageRouter of the vPool fits the target domains');
    }
  } catch (e) {
    log.error({ err: e, vdisk_guid: vdiskGuid }, 'set_config_params: DTL change failed');
    problems.push(`DTL: ${asOvsError(e).message}`);
  }
  if (problems.length > 0 || earlierFailed) await s.store.update('vdisk', vdiskGuid, (d) => (d.has_manual_dtl = previous));
  return problems;
}

/** Configurations to try in priority order: each candidate StorageRouter's StorageDrivers of the vPool, by guid. */
function candidateConfigs(s: AgentServices, vdiskGuid: string, ownerSr: string, domains: readonly string[], mode: DtlConfig['mode']): DtlConfig[] {
  const vdisk = s.view.get('vdisk', vdiskGuid);
  const vpool = String(vdisk.vpool_guid);
  return candidatesFor(s.view, vdisk, ownerSr, { restrictTo: domains }).flat().flatMap((sr) =>
    s.view.list('storagedriver', { vpool_guid: vpool, storagerouter_guid: sr })
      .sort((a, b) => a.guid.localeCompare(b.guid))
      .map((sd) => ({ host: String(sd.storage_ip), port: (sd.ports as { dtl: number }).dtl, mode })));
}

/** The first configuration the driver accepts (an unreachable DTL is accepted: the volume runs DEGRADED). */
async function configureFirst(s: AgentServices, owner: VdiskOwner, configs: readonly DtlConfig[]): Promise<boolean> {
  for (const config of configs) {
    try {
      await owner.storagedriver.driver.set_manual_dtl_config({ volume_id: owner.volumeId, config });
      return true;
    } catch (e) {
      s.log.warn({ err: e, vdisk_guid: owner.vdiskGuid, dtl: config }, 'DTL target refused; trying the next one');
    }
  }
  return false;
}

/** The vDisk's `domains_dtl` junctions become exactly `domains`. */
export async function replaceTargetDomains(s: AgentServices, vdiskGuid: string, domains: readonly string[]): Promise<void> {
  const junctions = s.view.reverse('vdisk', vdiskGuid, 'domains_dtl');
  for (const j of junctions) if (!domains.includes(String(j.domain_guid))) await s.store.delete('vdiskdomain', j.guid);
  const have = new Set(junctions.map((j) => String(j.domain_guid)));
  for (const d of domains) if (!have.has(d)) await s.store.create('vdiskdomain', { vdisk_guid: vdiskGuid, domain_guid: d });
}

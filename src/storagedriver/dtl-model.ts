import type { ModelObject, ModelReader } from '../model/schema.js';
import { dtlCandidates, type DtlCandidateNode } from '../policies/dtl-placement.js';
import { vpoolDtlSettings, type VpoolDtlSettings } from '../policies/dtl-mode.js';

/** What the model says about where a vDisk's DTL may go (spec §2.6), read for the placement and status policies. */

/** Regular (`backup` false) and recovery (`backup` true) domains of a StorageRouter. */
export function domainsOf(r: ModelReader, storagerouterGuid: string): { regular: string[]; recovery: string[] } {
  const junctions = r.reverse('storagerouter', storagerouterGuid, 'domains');
  return {
    regular: junctions.filter((j) => j.backup !== true).map((j) => String(j.domain_guid)),
    recovery: junctions.filter((j) => j.backup === true).map((j) => String(j.domain_guid)),
  };
}

/** The vDisk's manual DTL target domains (`domains_dtl`). */
export function targetDomainsOf(r: ModelReader, vdiskGuid: string): string[] {
  return r.reverse('vdisk', vdiskGuid, 'domains_dtl').map((j) => String(j.domain_guid));
}

export function vpoolDtlOf(r: ModelReader, vpoolGuid: string): VpoolDtlSettings {
  const vpool = r.find('vpool', vpoolGuid);
  return vpoolDtlSettings((vpool?.metadata as { configuration?: { dtl_mode?: unknown } } | undefined)?.configuration);
}

/** The StorageDriver of the vPool that listens on `host` (a DTL configuration's host), if any. */
export function storagedriverAt(r: ModelReader, vpoolGuid: string, host: string): ModelObject | undefined {
  return r.list('storagedriver', { vpool_guid: vpoolGuid }).find((sd) => sd.storage_ip === host);
}

export function storagedriverOf(r: ModelReader, vpoolGuid: string, storagerouterGuid: string): ModelObject | undefined {
  return r.list('storagedriver', { vpool_guid: vpoolGuid, storagerouter_guid: storagerouterGuid })[0];
}

export interface CandidateOptions {
  /** Domains to stay in; undefined: the vDisk's own `domains_dtl`. */
  restrictTo?: readonly string[];
  exclude?: readonly string[];
  usable?: (storagerouterGuid: string) => boolean;
  load?: (storagerouterGuid: string) => number;
}

/** Candidate StorageRouters by priority for a vDisk owned by `ownerSr` (never `ownerSr` itself). */
export function candidatesFor(r: ModelReader, vdisk: ModelObject, ownerSr: string, o: CandidateOptions = {}): string[][] {
  const vpoolGuid = String(vdisk.vpool_guid);
  const own = domainsOf(r, ownerSr);
  const nodes: DtlCandidateNode[] = r.list('storagedriver', { vpool_guid: vpoolGuid }).map((sd) => {
    const sr = String(sd.storagerouter_guid);
    return { storagerouter: sr, domains: domainsOf(r, sr).regular, dtlLoad: o.load?.(sr) ?? 0, usable: o.usable?.(sr) ?? true };
  });
  return dtlCandidates({
    owner: ownerSr, ownerDomains: own.regular, ownerRecoveryDomains: own.recovery, nodes,
    restrictTo: o.restrictTo ?? targetDomainsOf(r, vdisk.guid), exclude: o.exclude ?? [],
  });
}

import type { DtlConfig, DtlState } from '../dataplane/dtl/config.js';

/** `VDisk.dtl_status` values. The driver's CATCHUP is spelled `catch_up`, as the original's GUI constants spell it. */
export type DtlStatus = 'ok_sync' | 'ok_standalone' | 'catch_up' | 'degraded' | 'checkup_required' | 'disabled' | 'unknown';

export interface DtlStatusInput {
  /** The volume's `failover_mode`; null when the volume does not run (or its owner does not answer). */
  state: DtlState | null;
  manual: boolean;
  vpoolDtlEnabled: boolean;
  /** Number of the vDisk's manual target domains (`domains_dtl`). */
  targetDomains: number;
  /** The owner StorageRouter is known. */
  ownerKnown: boolean;
  /** The volume's DTL configuration; undefined when it could not be read. */
  config: DtlConfig | null | undefined;
  /**
   * Storage IPs of the candidate StorageDrivers per priority list (spec §2.6, restricted to the vDisk's target
   * domains when it has any): recovery domain, regular domain, the rest of the vPool.
   */
  candidateHosts: readonly (readonly string[])[];
}

const FROM_STATE: Record<DtlState, DtlStatus> = { OK_SYNC: 'ok_sync', OK_STANDALONE: 'ok_standalone', CATCHUP: 'catch_up', DEGRADED: 'degraded' };

/** The spec's `VDisk.dtl_status` paragraph (§0.1): the driver's state, corrected by what the model says the DTL should be. */
export function dtlStatus(i: DtlStatusInput): DtlStatus {
  if (i.state === null) return 'unknown';
  const status = FROM_STATE[i.state];
  if (status !== 'ok_sync' && status !== 'ok_standalone') return status;
  if ((!i.manual && !i.vpoolDtlEnabled) || (i.manual && i.vpoolDtlEnabled && i.targetDomains === 0 && i.config === null)) return 'disabled';
  if (!i.ownerKnown || i.config === undefined) return 'checkup_required';
  if (!i.manual) {
    const first = i.candidateHosts.find((l) => l.length > 0);
    return i.config !== null && first !== undefined && !first.includes(i.config.host) ? 'checkup_required' : status;
  }
  const all = i.candidateHosts.flat();
  if (i.config !== null) return all.includes(i.config.host) ? status : 'checkup_required';
  return all.length === 0 ? status : 'checkup_required';
}

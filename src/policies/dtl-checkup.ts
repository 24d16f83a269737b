import type { DtlConfig, DtlConfigMode, DtlMode, DtlState } from '../dataplane/dtl/config.js';

export interface DtlCheckupInput {
  vpoolDtlEnabled: boolean;
  /** The vPool's mode for a vDisk that has no configuration yet (null: the vPool has DTL disabled). */
  vpoolDtlMode: DtlMode | null;
  config: DtlConfig | null;
  configMode: DtlConfigMode;
  state: DtlState;
  /** `has_manual_dtl`: the target was chosen by a user (set_config_params) and is never changed automatically. */
  manual: boolean;
  /** The StorageRouter whose StorageDriver of the vPool has the configured host as storage IP, if any. */
  currentTarget: string | null;
  /** That StorageDriver's DTL port. */
  currentTargetPort: number | null;
  /** Candidate lists by priority, restricted to the vDisk's target domains, without the usability filter (spec §2.6). */
  candidates: readonly (readonly string[])[];
  /** The same lists keeping only usable, not excluded StorageRouters (spec §3.20 step 7). */
  usable: readonly (readonly string[])[];
}

export type DtlCheckupDecision =
  | { kind: 'keep'; reason: string; warning?: string }
  /** Configure the DTL on this StorageRouter (null: run standalone). */
  | { kind: 'configure'; target: string | null; mode: DtlMode | null; reason: string }
  /** The same configuration again: the volume is DEGRADED, and re-applying it retries the attach at once. */
  | { kind: 'reapply'; reason: string };

const firstNonEmpty = (lists: readonly (readonly string[])[]): readonly string[] => lists.find((l) => l.length > 0) ?? [];

/**
 * Spec §3.20 steps 2–9 for one vDisk. Differences from the original: a vDisk already standalone in MANUAL mode with
 * nowhere to go is left alone instead of being set to null again, and a valid configuration of a DEGRADED volume is
 * re-applied so that a checkup repairs it instead of leaving it to the volume driver's checker.
 */
export function decideDtlCheckup(i: DtlCheckupInput): DtlCheckupDecision {
  if (!i.vpoolDtlEnabled && i.config === null) {
    return i.configMode === 'AUTOMATIC'
      ? { kind: 'configure', target: null, mode: null, reason: 'DTL disabled on the vPool: standalone, in MANUAL mode' }
      : { kind: 'keep', reason: 'DTL disabled on the vPool' };
  }
  if (i.manual) {
    if (i.config === null) return { kind: 'keep', reason: 'DTL manually disabled' };
    const allowed = firstNonEmpty(i.candidates.slice(0, 2));
    const valid = i.currentTarget !== null && (allowed.length === 0 || allowed.includes(i.currentTarget));
    if (!valid) return { kind: 'keep', reason: 'manual DTL', warning: `manual DTL target ${i.config.host}:${i.config.port} is no longer valid` };
    return i.state === 'DEGRADED' ? { kind: 'reapply', reason: 'manual DTL target valid but DEGRADED' } : { kind: 'keep', reason: 'manual DTL target valid' };
  }
  const targets = firstNonEmpty(i.usable);
  const why = reconfigureReason(i, targets);
  if (why === undefined) {
    return i.state === 'DEGRADED' ? { kind: 'reapply', reason: 'DTL target valid but DEGRADED' } : { kind: 'keep', reason: 'DTL target valid' };
  }
  if (targets.length === 0) {
    if (i.config === null && i.configMode === 'MANUAL') return { kind: 'keep', reason: 'standalone: no usable DTL target' };
    return { kind: 'configure', target: null, mode: null, reason: why };
  }
  return { kind: 'configure', target: targets[0]!, mode: i.config?.mode ?? i.vpoolDtlMode ?? 'Asynchronous', reason: why };
}

/** Spec §3.20 step 8: why the configuration must change, or undefined when it is still right. */
function reconfigureReason(i: DtlCheckupInput, targets: readonly string[]): string | undefined {
  if (i.config === null) return 'no DTL configured';
  if (i.configMode === 'AUTOMATIC') return 'DTL config mode AUTOMATIC';
  if (i.currentTarget === null) return `DTL host ${i.config.host} is not a StorageDriver of the vPool`;
  if (targets.length === 0) return 'no usable DTL target: standalone';
  if (!targets.includes(i.currentTarget)) return 'current DTL target is no longer a (usable) candidate';
  if (i.currentTargetPort !== i.config.port) return 'DTL port differs from the target StorageDriver';
  return undefined;
}

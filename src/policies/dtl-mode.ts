import type { DtlMode } from '../dataplane/dtl/config.js';

/** The framework's DTL modes (spec §0.3): `sync`, `a_sync`, or `no_sync` (no DTL). */
export type FrameworkDtlMode = 'sync' | 'a_sync' | 'no_sync';

export function toDriverMode(mode: FrameworkDtlMode): DtlMode | null {
  return mode === 'sync' ? 'Synchronous' : mode === 'a_sync' ? 'Asynchronous' : null;
}

export function toFrameworkMode(mode: DtlMode | null | undefined): FrameworkDtlMode {
  return mode === 'Synchronous' ? 'sync' : mode === 'Asynchronous' ? 'a_sync' : 'no_sync';
}

export interface VpoolDtlSettings {
  /** False only when the vPool's `dtl_mode` is `no_sync`. */
  enabled: boolean;
  /** The mode a vDisk without a DTL configuration gets; null when the vPool has DTL disabled. */
  mode: DtlMode | null;
  frameworkMode: FrameworkDtlMode;
}

/**
 * The vPool's DTL defaults from its stored configuration. A vPool created before the DTL existed (or without a
 * `dtl_mode`) gets the original's default, `a_sync`.
 */
export function vpoolDtlSettings(configuration: { dtl_mode?: unknown } | undefined): VpoolDtlSettings {
  const raw = configuration?.dtl_mode;
  const frameworkMode: FrameworkDtlMode = raw === 'sync' || raw === 'no_sync' ? raw : 'a_sync';
  return { enabled: frameworkMode !== 'no_sync', mode: toDriverMode(frameworkMode), frameworkMode };
}

/**
 * `has_manual_dtl` after set_config_params (spec §3.19): target domains make the DTL manual; so does a mode that
 * departs from the vPool's (a DTL on a vPool that has it disabled, no DTL on one that has it enabled), so that the
 * checkup leaves the user's choice alone.
 */
export function manualFlag(mode: FrameworkDtlMode, targets: readonly string[], vpoolDtlEnabled: boolean): boolean {
  return targets.length > 0 || (vpoolDtlEnabled ? mode === 'no_sync' : mode !== 'no_sync');
}

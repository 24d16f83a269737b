import type { DynamicDef, ModelObject } from '../schema.js';

/** A vDisk's scrub state as its volume driver reports it. */
export interface VdiskScrubState {
  last_scrub: string | null;
  work_pending: number;
  running: boolean;
}

export interface VpoolScrubState {
  vdisks: number;
  vdisks_with_work_pending: number;
  /** Work units (snapshots not scrubbed yet) over all vDisks that answered. */
  work_pending: number;
  /** vDisks being scrubbed now. */
  running: number;
  /** Newest last scrub of its vDisks (ISO time), null when none was ever scrubbed. */
  last_scrub: string | null;
  /** vDisks whose driver did not answer; the counts above leave them out. */
  unknown: number;
}

/** Sums the vDisks' states (null: that vDisk's driver did not answer). */
export function vpoolScrubState(states: ReadonlyArray<VdiskScrubState | null>): VpoolScrubState {
  const known = states.filter((s): s is VdiskScrubState => s !== null);
  let last: string | null = null;
  for (const s of known) if (s.last_scrub !== null && (last === null || Date.parse(s.last_scrub) > Date.parse(last))) last = s.last_scrub;
  return {
    vdisks: states.length,
    vdisks_with_work_pending: known.filter((s) => s.work_pending > 0).length,
    work_pending: known.reduce((n, s) => n + s.work_pending, 0),
    running: known.filter((s) => s.running).length,
    last_scrub: last,
    unknown: states.length - known.length,
  };
}

/**
 * `scrub_state` of a vPool: every vDisk's state asked from the driver that runs it, in parallel (`scrubStateOf`
 * resolves null for a vDisk that does not answer in time, so one down node cannot hold the read).
 */
export function vpoolDynamics(scrubStateOf: (vdisk: ModelObject) => Promise<VdiskScrubState | null>): Record<string, DynamicDef> {
  return {
    scrub_state: {
      ttlMs: 10_000,
      compute: async (vp, r) => vpoolScrubState(await Promise.all(r.list('vdisk', { vpool_guid: vp.guid }).map((vd) => scrubStateOf(vd).catch(() => null)))),
    },
  };
}

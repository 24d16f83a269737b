import type { TLogRef } from '../snapshots/types.js';

/**
 * One unit of scrubbing work (A16, C9): one snapshot interval of one volume. Plain JSON: it crosses NATS from the
 * owner (`get_scrubbing_workunits`) to whichever driver runs `scrub`.
 */
export interface ScrubWork {
  ns: string;
  volumeId: string;
  snapshot: string;
  clusterSize: number;
  scoMultiplier: number;
  /** Output TLogs are cut after this many SCOs, like the writer's TLogs. */
  tlogMultiplier: number;
  /** SCOs with fewer live clusters than fillRatio × scoMultiplier are rewritten. */
  fillRatio: number;
  /**
   * The interval's TLogs as the owner sees them when it hands out the work. The backend's snapshots file may lag the
   * owner's (a snapshot deletion uploads it later, behind the volume's queue); a scrub of that older list would be
   * refused at apply as "changed", and the work wasted.
   */
  tlogs: TLogRef[];
}

/** What `scrub` returns: where its result object is, and what it found. Plain JSON. */
export interface ScrubReply {
  ns: string;
  volumeId: string;
  snapshot: string;
  /** `scrubbing_result_<uuid>` in `ns`; `apply_scrubbing_result` takes this name. */
  resultName: string;
  relocations: number;
  /** SCO objects that hold nothing live once the result is applied (rewritten or wholly dead). */
  deadScos: number;
  newScos: number;
  /** Bytes of the snapshot's history read (cluster bytes of its TLogs). */
  bytesIn: number;
  /** Backend bytes freed by the garbage collection that follows a successful apply. */
  bytesReclaimed: number;
}

/** The uploaded `scrubbing_result_<uuid>` object: everything apply and garbage collection need. */
export interface ScrubResult {
  version: 1;
  ns: string;
  volumeId: string;
  snapshot: string;
  /** The snapshot's TLog list the scrub read; apply replaces it only while it is still this list. */
  tlogsIn: string[];
  /** The new list (equal to tlogsIn when there was nothing to reclaim). */
  tlogsOut: TLogRef[];
  relocLogs: string[];
  relocations: number;
  newScos: string[];
  deadScos: string[];
  /** The dead SCOs without a single live cluster: nothing can read them once the owner applied, so they go at once. */
  emptyScos?: string[];
  bytesIn: number;
  bytesReclaimed: number;
}

export const SCRUB_RESULT_PREFIX = 'scrubbing_result_';
export const RELOC_LOG_PREFIX = 'scrub_relocs_';
export const DEFAULT_FILL_RATIO = 0.9;

/** Objects a result introduced: what an aborted apply (or a failed scrub) deletes again. */
export function newObjectsOf(r: ScrubResult, resultName: string): string[] {
  const kept = new Set(r.tlogsIn);
  return [...r.newScos, ...r.tlogsOut.map((t) => t.id).filter((id) => !kept.has(id)), ...r.relocLogs, resultName];
}

/** Objects a successfully applied result left unused: deleted by the garbage collection. */
export function garbageOf(r: ScrubResult, resultName: string): string[] {
  const kept = new Set(r.tlogsOut.map((t) => t.id));
  return [...r.deadScos, ...r.tlogsIn.filter((id) => !kept.has(id)), ...r.relocLogs, resultName];
}

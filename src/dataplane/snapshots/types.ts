/** `snapshots.json` (volumedriver.md C2.4), kept locally and on the backend. */
export interface TLogRef {
  id: string;
  written: boolean;
  /** Cluster bytes in that TLog. */
  size: number;
}

export interface SnapshotRec {
  num: number;
  name: string;
  uuid: string;
  /** ctime-like text, reported as info_snapshot.timestamp. */
  date: string;
  /** base64, ≤ 4096 bytes raw. */
  metadata: string;
  scrubbed: boolean;
  /**
   * A delete_snapshot is deciding whether it may go: no clone is made of it meanwhile. Set in the backend before the
   * delete looks for clones, and read by create_clone after it registered its clone, so one of the two sees the other.
   */
  deleting?: boolean;
  /** The snapshot's cork is the id of the last entry. */
  tlogs: TLogRef[];
}

export interface SnapshotsFile {
  version: 1;
  parent: { ns: string; snapshot: string } | null;
  /** Last entry = the TLog being written. */
  current: TLogRef[];
  snapshots: SnapshotRec[];
  scrubId: string;
  /** Highest SCO number referenced by a written TLog (C12.5). */
  lastScoNumber: number;
  useHash: boolean;
}

export const SNAPSHOTS_OBJECT = 'snapshots.json';

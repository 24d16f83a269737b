/** Volume geometry (volumedriver.md C2.1). Production limits; tests may use smaller SCOs via `allowTinyScos`. */
export const LBA_SIZE = 512;
export const MAX_IO_BYTES = 32 * 1024 * 1024;

export interface Geometry {
  /** Bytes per cluster (4 KiB default; 4–64 KiB). */
  clusterSize: number;
  /** Clusters per SCO. */
  scoMultiplier: number;
  /** SCOs per TLog. */
  tlogMultiplier: number;
}

export const DEFAULT_GEOMETRY: Geometry = { clusterSize: 4096, scoMultiplier: 1024, tlogMultiplier: 20 };

/** 64 KiB SCOs and 4 SCOs per TLog: rollovers and uploads happen with megabytes of data (C12.18). */
export const TEST_GEOMETRY: Geometry = { clusterSize: 4096, scoMultiplier: 16, tlogMultiplier: 4 };

export function checkGeometry(g: Geometry, allowTinyScos = false): string | undefined {
  if (![4096, 8192, 16384, 32768, 65536].includes(g.clusterSize)) return 'cluster size must be 4, 8, 16, 32 or 64 KiB';
  const scoBytes = g.clusterSize * g.scoMultiplier;
  if (!Number.isInteger(g.scoMultiplier) || g.scoMultiplier < 1 || g.scoMultiplier > 65536) return 'SCO multiplier must be 1..65536 clusters';
  if (!allowTinyScos && (scoBytes < 1024 * 1024 || scoBytes > 128 * 1024 * 1024)) return 'SCO size must be 1..128 MiB';
  if (!Number.isInteger(g.tlogMultiplier) || g.tlogMultiplier < 1 || g.tlogMultiplier > 1024) return 'TLog multiplier must be 1..1024 SCOs';
  return undefined;
}

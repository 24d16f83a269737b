import type { VolumeDriver } from '../dataplane/driver/volume-driver.js';

/** A snapshot's metadata as its creator stored it (JSON); a snapshot without readable metadata has none. */
export function readSnapshotMetadata(driver: VolumeDriver, volumeId: string, snapshotId: string): Record<string, unknown> {
  const raw = driver.info_snapshot({ volume_id: volumeId, snapshot_id: snapshotId }).metadata.toString('utf8');
  try {
    const parsed: unknown = JSON.parse(raw || '{}');
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

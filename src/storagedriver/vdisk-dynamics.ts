import type { DynamicDef, ModelObject } from '../model/schema.js';
import { readSnapshotMetadata } from './snapshot-metadata.js';
import type { StorageDriverHost } from './host.js';

/**
 * Computed fields of a vDisk that come from the data plane (model.md §3.7): `snapshots`, `info`, `dtl_status`,
 * `storagerouter_guid`. Answered from the volume driver when its StorageDriver runs on this agent; elsewhere `info`
 * says `live_status: UNKNOWN` (phase 1 has one node per vPool).
 */
export function vdiskDynamics(runningHost: (storagedriverGuid: string) => StorageDriverHost | undefined): Record<string, DynamicDef> {
  const driverOf = (vd: ModelObject) => runningHost(String(vd.storagedriver_guid))?.driver;
  return {
    snapshots: {
      ttlMs: 0,
      compute: (vd) => {
        const d = driverOf(vd);
        const volumeId = String(vd.volume_id);
        if (!d?.running(volumeId)) return [];
        return d.list_snapshots({ volume_id: volumeId }).map((id) => {
          const info = d.info_snapshot({ volume_id: volumeId, snapshot_id: id });
          const m = readSnapshotMetadata(d, volumeId, id);
          return {
            ...m,
            guid: id,
            // Read back the way the caller gave it (a digit string or an integer).
            timestamp: m.timestamp ?? String(Math.floor(Date.parse(info.timestamp) / 1000)),
            label: m.label ?? id,
            is_consistent: m.is_consistent === true,
            is_automatic: m.is_automatic !== false,
            is_sticky: m.is_sticky === true,
            in_backend: info.in_backend,
            stored: info.stored,
          };
        });
      },
    },
    info: {
      ttlMs: 0,
      compute: (vd) => {
        const d = driverOf(vd);
        const volumeId = String(vd.volume_id);
        if (!d) return { live_status: 'UNKNOWN' };
        if (!d.running(volumeId)) return { live_status: 'NON_RUNNING' };
        const info = d.info_volume({ volume_id: volumeId });
        return { ...info, live_status: info.halted ? 'HALTED' : 'RUNNING' };
      },
    },
    dtl_status: {
      ttlMs: 0,
      // Phase 1 has no DTL: a running volume is OK_STANDALONE and the vPool has DTL disabled (§5.2).
      compute: (vd) => (driverOf(vd)?.running(String(vd.volume_id)) ? (vd.has_manual_dtl ? 'checkup_required' : 'disabled') : 'unknown'),
    },
    storagerouter_guid: { ttlMs: 15_000, compute: (vd, reader) => reader.find('storagedriver', String(vd.storagedriver_guid))?.storagerouter_guid ?? null },
  };
}

import type { NatsConnection } from 'nats';
import type { VolumeDriver } from '../dataplane/driver/volume-driver.js';
import { mdsClient } from '../mds/client.js';
import type { DtlConfig } from '../dataplane/dtl/config.js';
import type { DynamicDef, ModelObject, ModelReader } from '../model/schema.js';
import { dtlStatus, type DtlStatus } from '../policies/dtl-status.js';
import { candidatesFor, storagedriverAt, targetDomainsOf, vpoolDtlOf } from './dtl-model.js';
import { readSnapshotMetadata } from './snapshot-metadata.js';
import type { StorageDriverHost } from './host.js';
import { MDS_READ_TIMEOUT_MS, vdiskMdsConfig } from './vdisk-mds-config.js';

/**
 * Computed fields of a vDisk that come from the data plane (model.md §3.7): `snapshots`, `info`, `dtl_status`,
 * `dtl_config`, `storagerouter_guid`. Answered from the volume driver when its StorageDriver runs on this agent;
 * elsewhere `info` says `live_status: UNKNOWN` and `dtl_status` `unknown`.
 */
export function vdiskDynamics(runningHost: (storagedriverGuid: string) => StorageDriverHost | undefined, nc?: NatsConnection): Record<string, DynamicDef> {
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
    // The relay of `vdisk.get` to the owner's agent (transport/server) makes these local reads.
    dtl_status: { ttlMs: 0, compute: (vd, reader) => statusOf(vd, reader, driverOf(vd)) },
    dtl_config: { ttlMs: 0, compute: (vd, reader) => configOf(vd, reader, driverOf(vd)) },
    storagerouter_guid: { ttlMs: 15_000, inList: true, compute: (vd, reader) => reader.find('storagedriver', String(vd.storagedriver_guid))?.storagerouter_guid ?? null },
    // Operator views (asynchronous: they ask the MDS services and the scrub registry); null where the volume does not run here.
    mds_config: {
      ttlMs: 5_000,
      compute: async (vd, reader) => {
        const d = driverOf(vd);
        const volumeId = String(vd.volume_id);
        if (!d?.running(volumeId)) return null;
        return vdiskMdsConfig(reader, vd, d.info_volume({ volume_id: volumeId }).metadata_backend_config, (a) => mdsClient(a, nc, MDS_READ_TIMEOUT_MS));
      },
    },
    scrub_state: {
      ttlMs: 5_000,
      compute: async (vd) => {
        const d = driverOf(vd);
        const volumeId = String(vd.volume_id);
        return d?.running(volumeId) ? d.scrub_state({ volume_id: volumeId }) : null;
      },
    },
  };
}

function statusOf(vd: ModelObject, reader: ModelReader, d: VolumeDriver | undefined): DtlStatus {
  const volumeId = String(vd.volume_id);
  if (!d?.running(volumeId)) return 'unknown';
  const vpool = String(vd.vpool_guid);
  const ownerSd = reader.find('storagedriver', String(vd.storagedriver_guid));
  let config: DtlConfig | null | undefined;
  try {
    config = d.get_dtl_config({ volume_id: volumeId });
  } catch {
    config = undefined;
  }
  const hostsOf = (srs: readonly string[]): string[] =>
    srs.flatMap((sr) => reader.list('storagedriver', { vpool_guid: vpool, storagerouter_guid: sr }).map((sd) => String(sd.storage_ip)));
  return dtlStatus({
    state: d.info_volume({ volume_id: volumeId }).failover_mode,
    manual: vd.has_manual_dtl === true,
    vpoolDtlEnabled: vpoolDtlOf(reader, vpool).enabled,
    targetDomains: targetDomainsOf(reader, vd.guid).length,
    ownerKnown: ownerSd !== undefined,
    config,
    candidateHosts: ownerSd === undefined ? [] : candidatesFor(reader, vd, String(ownerSd.storagerouter_guid)).map(hostsOf),
  });
}

/** Where the vDisk's DTL is: the target StorageRouter, host, port, mode, and whether a user chose it. */
function configOf(vd: ModelObject, reader: ModelReader, d: VolumeDriver | undefined): Record<string, unknown> | null {
  const volumeId = String(vd.volume_id);
  if (!d?.running(volumeId)) return null;
  const config = d.get_dtl_config({ volume_id: volumeId });
  const target = config ? storagedriverAt(reader, String(vd.vpool_guid), config.host) : undefined;
  return {
    storagerouter_guid: target?.storagerouter_guid ?? null,
    host: config?.host ?? null,
    port: config?.port ?? null,
    mode: config?.mode ?? null,
    manual: vd.has_manual_dtl === true,
    config_mode: d.get_dtl_config_mode({ volume_id: volumeId }),
    target_domains: targetDomainsOf(reader, vd.guid),
  };
}

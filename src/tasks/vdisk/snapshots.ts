import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ObjectStillHasChildrenError, PreviousSnapshotNotOnBackendError, SnapshotNotFoundError } from '../../dataplane/errors.js';
import { readSnapshotMetadata } from '../../storagedriver/snapshot-metadata.js';
import { defineTask } from '../define.js';
import { guid } from '../params.js';
import { snapshotId, snapshotMetadata, snapshotTimestamp, tlogName } from '../shapes.js';
import { clonesOf, waitInBackend } from './volume-helpers.js';

const module = 'vdisk';
const onVdisk = { kind: 'vdisk', param: 'vdisk_guid' } as const;

export const createSnapshot = defineTask({
  module,
  name: 'create_snapshot',
  summary: 'Create a vDisk snapshot',
  params: z.object({ vdisk_guid: guid, metadata: snapshotMetadata }).strict(),
  owner: onVdisk,
  async handler(p, { owner: { storagedriver: { driver }, volumeId } }) {
    const existing = driver.list_snapshots({ volume_id: volumeId });
    const last = existing[existing.length - 1];
    // At most one snapshot per volume on its way to the backend (the original's throttle).
    if (last && !driver.is_volume_synced_up_to_snapshot({ volume_id: volumeId, snapshot_name: last })) {
      throw new PreviousSnapshotNotOnBackendError(`previous snapshot ${last} is not yet in the backend`, { snapshot_id: last });
    }
    return driver.create_snapshot({ volume_id: volumeId, snapshot_id: randomUUID(), metadata: Buffer.from(JSON.stringify(p.metadata)) });
  },
});

export const deleteSnapshot = defineTask({
  module,
  name: 'delete_snapshot',
  summary: 'Delete a vDisk snapshot',
  params: z.object({ vdisk_guid: guid, snapshot_id: snapshotId }).strict(),
  owner: onVdisk,
  async handler(p, { services: s, owner: { storagedriver: { driver }, volumeId, vdiskGuid } }) {
    const clones = clonesOf(s, vdiskGuid).filter((c) => c.parentsnapshot === p.snapshot_id);
    if (clones.length > 0) throw new ObjectStillHasChildrenError(`snapshot ${p.snapshot_id} has ${clones.length} clone(s)`, { clones: clones.length });
    await driver.delete_snapshot({ volume_id: volumeId, snapshot_id: p.snapshot_id });
    return null;
  },
});

export const rollback = defineTask({
  module,
  name: 'rollback',
  summary: 'Rolls back a vDisk based on a given vDisk snapshot timestamp',
  params: z.object({ vdisk_guid: guid, timestamp: snapshotTimestamp }).strict(),
  owner: onVdisk,
  async handler(p, { owner: { storagedriver: host, volumeId, vdiskGuid }, deadline }) {
    // The original compares timestamps as strings: `"1700000000"` and `1700000000` name the same snapshot.
    const wanted = String(p.timestamp);
    const match = host.driver.list_snapshots({ volume_id: volumeId }).find((id) => String(readSnapshotMetadata(host.driver, volumeId, id).timestamp) === wanted);
    if (!match) throw new SnapshotNotFoundError(`vDisk ${vdiskGuid} has no snapshot with timestamp ${wanted}`, { vdisk_guid: vdiskGuid, timestamp: wanted });
    await waitInBackend(host, volumeId, match, deadline);
    await host.driver.rollback_volume({ volume_id: volumeId, snapshot_id: match });
    return true;
  },
});

export const isVolumeSyncedUpToSnapshot = defineTask({
  module,
  name: 'is_volume_synced_up_to_snapshot',
  summary: 'Verify if a volume is synced up to a specific snapshot',
  params: z.object({ vdisk_guid: guid, snapshot_id: snapshotId }).strict(),
  owner: onVdisk,
  async handler(p, { owner: { storagedriver: { driver }, volumeId } }) {
    return driver.is_volume_synced_up_to_snapshot({ volume_id: volumeId, snapshot_name: p.snapshot_id });
  },
});

export const isVolumeSyncedUpToTlog = defineTask({
  module,
  name: 'is_volume_synced_up_to_tlog',
  summary: 'Verify if a volume is synced up to a specific tlog',
  params: z.object({ vdisk_guid: guid, tlog_name: tlogName }).strict(),
  owner: onVdisk,
  async handler(p, { owner: { storagedriver: { driver }, volumeId } }) {
    return driver.is_volume_synced_up_to_tlog({ volume_id: volumeId, tlog_name: p.tlog_name });
  },
});

export const scheduleBackendSync = defineTask({
  module,
  name: 'schedule_backend_sync',
  summary: 'Schedule a backend sync on a vDisk',
  params: z.object({ vdisk_guid: guid }).strict(),
  owner: onVdisk,
  async handler(_p, { owner: { storagedriver: { driver }, volumeId } }) {
    return driver.schedule_backend_sync({ volume_id: volumeId });
  },
});

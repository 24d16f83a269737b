import { z } from 'zod';
import type { TaskDef } from '../define.js';
import { guid, guidList, nonNegativeInt, vdiskName } from '../params.js';
import {
  arrivesWith,
  cacheQuota,
  pagecacheRatio,
  pendingTask,
  snapshotId,
  snapshotMapping,
  snapshotMetadata,
  snapshotTimestamp,
  storagedriverId,
  tlogName,
  vdiskConfigParams,
  volumeId,
  volumeSize,
  vpoolPath,
} from './shapes.js';

const module = 'vdisk';
const onVdisk = { kind: 'vdisk', param: 'vdisk_guid' } as const;
const cluster = { kind: 'cluster' } as const;
// Fan-outs over several vDisks hold no state of their own: they call each vDisk's owner.
const fanOut = { kind: 'any' } as const;
const dtlState = z.number().int().min(0).max(3);

function onOneVdisk(name: string, summary: string, params: z.ZodType, pending: string = arrivesWith.issue4): TaskDef {
  return pendingTask({ module, name, summary, params, owner: onVdisk, pending });
}

export const vdiskPending: TaskDef[] = [
  onOneVdisk(
    'clone',
    'Clone a vDisk',
    z
      .object({
        vdisk_guid: guid,
        name: vdiskName,
        snapshot_id: snapshotId.nullable().optional(),
        storagerouter_guid: guid.nullable().optional(),
        pagecache_ratio: pagecacheRatio.nullable().optional(),
        cache_quota: cacheQuota.nullable().optional(),
      })
      .strict(),
  ),
  onOneVdisk(
    'create_from_template',
    'Create a vDisk from a template',
    z
      .object({
        vdisk_guid: guid,
        name: vdiskName,
        storagerouter_guid: guid.nullable().optional(),
        pagecache_ratio: pagecacheRatio.nullable().optional(),
        cache_quota: cacheQuota.nullable().optional(),
      })
      .strict(),
  ),
  pendingTask({
    module,
    name: 'create_new',
    summary: 'Create a new vDisk/volume using hypervisor calls',
    params: z
      .object({
        volume_name: vdiskName,
        volume_size: volumeSize,
        storagedriver_guid: guid,
        pagecache_ratio: pagecacheRatio.optional(),
        cache_quota: cacheQuota.nullable().optional(),
      })
      .strict(),
    // Belongs on the StorageDriver's node; Owner cannot name a StorageDriver yet.
    owner: cluster,
    pending: arrivesWith.issue4,
  }),
  onOneVdisk(
    'create_snapshot',
    'Create a vDisk snapshot',
    z.object({ vdisk_guid: guid, metadata: snapshotMetadata }).strict(),
  ),
  pendingTask({
    module,
    name: 'create_snapshots',
    summary: 'Create vDisk snapshots',
    params: z.object({ vdisk_guids: guidList, metadata: snapshotMetadata }).strict(),
    owner: fanOut,
    pending: arrivesWith.issue4,
  }),
  onOneVdisk('delete', 'Delete a vDisk through API', z.object({ vdisk_guid: guid }).strict()),
  pendingTask({
    module,
    name: 'delete_from_voldrv',
    summary: 'Delete a vDisk from model only since its been deleted on volumedriver',
    params: z.object({ volume_id: volumeId }).strict(),
    owner: cluster,
    pending: arrivesWith.issue4,
  }),
  onOneVdisk(
    'delete_snapshot',
    'Delete a vDisk snapshot',
    z.object({ vdisk_guid: guid, snapshot_id: snapshotId }).strict(),
  ),
  pendingTask({
    module,
    name: 'delete_snapshots',
    summary: 'Delete vDisk snapshots',
    params: z.object({ snapshot_mapping: snapshotMapping }).strict(),
    owner: fanOut,
    pending: arrivesWith.issue4,
  }),
  pendingTask({
    module,
    name: 'dtl_checkup',
    summary: 'Check DTL for all volumes, for all volumes of a vPool or for 1 specific volume',
    params: z
      .object({
        vpool_guid: guid.nullable().optional(),
        vdisk_guid: guid.nullable().optional(),
        storagerouters_to_exclude: guidList.nullable().optional(),
      })
      .strict(),
    owner: cluster,
    ensureSingle: { mode: 'DEDUPED' },
    pending: arrivesWith.phase2,
  }),
  pendingTask({
    module,
    name: 'dtl_state_transition',
    summary: 'Triggered by volumedriver when DTL state changes',
    params: z
      .object({ volume_id: volumeId, old_state: dtlState, new_state: dtlState, storagedriver_id: storagedriverId })
      .strict(),
    owner: cluster,
    pending: arrivesWith.phase2,
  }),
  onOneVdisk('extend', 'Extend a vDisk through API', z.object({ vdisk_guid: guid, volume_size: volumeSize }).strict()),
  onOneVdisk(
    'get_config_params',
    'Retrieve the configuration parameters for the given vDisk from the storagedriver',
    z.object({ vdisk_guid: guid }).strict(),
  ),
  onOneVdisk(
    'is_volume_synced_up_to_snapshot',
    'Verify if a volume is synced up to a specific snapshot',
    z.object({ vdisk_guid: guid, snapshot_id: snapshotId }).strict(),
  ),
  onOneVdisk(
    'is_volume_synced_up_to_tlog',
    'Verify if a volume is synced up to a specific tlog',
    z.object({ vdisk_guid: guid, tlog_name: tlogName }).strict(),
  ),
  pendingTask({
    module,
    name: 'list_volumes',
    summary: 'List all known volumes on a specific vpool or on all',
    params: z.object({ vpool_guid: guid.nullable().optional() }).strict(),
    owner: { kind: 'any' },
    pending: arrivesWith.issue4,
  }),
  pendingTask({
    module,
    name: 'migrate_from_voldrv',
    summary: 'Triggered when volume has changed owner (Clean migration or stolen due to other reason)',
    params: z.object({ volume_id: volumeId, new_owner_id: storagedriverId }).strict(),
    owner: cluster,
    pending: arrivesWith.phase2,
  }),
  onOneVdisk(
    'move',
    'Move a vDisk to the specified StorageRouter',
    z.object({ vdisk_guid: guid, target_storagerouter_guid: guid, force: z.boolean().optional() }).strict(),
    arrivesWith.phase2,
  ),
  pendingTask({
    module,
    name: 'move_multiple',
    summary: 'Move list of vDisks to the specified StorageRouter',
    params: z
      .object({ vdisk_guids: guidList, target_storagerouter_guid: guid, force: z.boolean().optional() })
      .strict(),
    owner: fanOut,
    pending: arrivesWith.phase2,
  }),
  pendingTask({
    module,
    name: 'rename_from_voldrv',
    summary: 'Processes a rename event from the volumedriver',
    params: z.object({ old_path: vpoolPath, new_path: vpoolPath, storagedriver_id: storagedriverId }).strict(),
    owner: cluster,
    pending: arrivesWith.issue4,
  }),
  pendingTask({
    module,
    name: 'resize_from_voldrv',
    summary: 'Resize a vDisk',
    params: z
      .object({
        volume_id: volumeId,
        volume_size: nonNegativeInt,
        volume_path: vpoolPath,
        storagedriver_id: storagedriverId,
      })
      .strict(),
    owner: cluster,
    pending: arrivesWith.issue4,
  }),
  onOneVdisk('restart', 'Restart the given vDisk', z.object({ vdisk_guid: guid, force: z.boolean() }).strict()),
  onOneVdisk(
    'rollback',
    'Rolls back a vDisk based on a given vDisk snapshot timestamp',
    z.object({ vdisk_guid: guid, timestamp: snapshotTimestamp }).strict(),
  ),
  onOneVdisk('schedule_backend_sync', 'Schedule a backend sync on a vDisk', z.object({ vdisk_guid: guid }).strict()),
  onOneVdisk('set_as_template', 'Set a vDisk as template', z.object({ vdisk_guid: guid }).strict()),
  onOneVdisk(
    'set_config_params',
    'Sets configuration parameters for a given vDisk',
    z.object({ vdisk_guid: guid, new_config_params: vdiskConfigParams }).strict(),
  ),
  pendingTask({
    module,
    name: 'sync_with_reality',
    summary: 'Syncs vDisks in the model with reality',
    params: z.object({ vpool_guid: guid.nullable().optional() }).strict(),
    owner: cluster,
    pending: arrivesWith.issue4,
  }),
];

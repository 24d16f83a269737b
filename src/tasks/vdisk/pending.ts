import { z } from 'zod';
import { defineTask, type TaskDef } from '../define.js';
import { guid, guidList } from '../params.js';
import { arrivesWith, storagedriverId, volumeId } from '../shapes.js';

const module = 'vdisk';
const onVdisk = { kind: 'vdisk', param: 'vdisk_guid' } as const;
const cluster = { kind: 'cluster' } as const;
// Fan-outs over several vDisks hold no state of their own: they call each vDisk's owner.
const fanOut = { kind: 'any' } as const;
const dtlState = z.number().int().min(0).max(3);

function onOneVdisk(name: string, summary: string, params: z.ZodType, pending: string = arrivesWith.cluster): TaskDef {
  return defineTask({ module, name, summary, params, owner: onVdisk, pending });
}

export const vdiskPending: TaskDef[] = [
  defineTask({
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
  defineTask({
    module,
    name: 'dtl_state_transition',
    summary: 'Triggered by volumedriver when DTL state changes',
    params: z
      .object({ volume_id: volumeId, old_state: dtlState, new_state: dtlState, storagedriver_id: storagedriverId })
      .strict(),
    owner: cluster,
    pending: arrivesWith.phase2,
  }),
  defineTask({
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
  defineTask({
    module,
    name: 'move_multiple',
    summary: 'Move list of vDisks to the specified StorageRouter',
    params: z
      .object({ vdisk_guids: guidList, target_storagerouter_guid: guid, force: z.boolean().optional() })
      .strict(),
    owner: fanOut,
    pending: arrivesWith.phase2,
  }),
];

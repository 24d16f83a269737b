import { z } from 'zod';
import { defineTask, type TaskDef } from '../define.js';
import { guid, guidList } from '../params.js';
import { arrivesWith, storagedriverId, volumeId } from '../shapes.js';

const module = 'vdisk';
const cluster = { kind: 'cluster' } as const;
const dtlState = z.number().int().min(0).max(3);

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
];

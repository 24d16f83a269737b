import { z } from 'zod';
import { defineTask, type TaskDef } from '../define.js';
import { guid, nonNegativeInt } from '../params.js';
import { arrivesWith, volumeId } from '../shapes.js';

const module = 'storagedriver';
const cluster = { kind: 'cluster' } as const;

export const storagedriverPending: TaskDef[] = [
  defineTask({
    module,
    name: 'cluster_registry_checkup',
    summary: 'Verify whether changes have occurred in the cluster registry for each vPool',
    params: z.object({}).strict(),
    owner: cluster,
    ensureSingle: { mode: 'CHAINED' },
    pending: arrivesWith.phase2,
  }),
  // manual_ and scheduled_voldrv_arakoon_checkup exclude each other in the original (extra_task_names).
  defineTask({
    module,
    name: 'manual_voldrv_arakoon_checkup',
    summary: 'Creates a new Arakoon Cluster if required and extends cluster if possible on all available master nodes',
    params: z.object({}).strict(),
    owner: cluster,
    ensureSingle: { mode: 'DEFAULT' },
    pending: arrivesWith.phase2,
  }),
  defineTask({
    module,
    name: 'refresh_configuration',
    summary: "Refresh the StorageDriver's configuration (Configuration must have been updated manually)",
    params: z.object({ storagedriver_guid: guid }).strict(),
    owner: cluster,
    pending: arrivesWith.cluster,
  }),
  defineTask({
    module,
    name: 'scheduled_voldrv_arakoon_checkup',
    summary: 'Makes sure the volumedriver arakoon is on all available master nodes',
    params: z.object({}).strict(),
    owner: cluster,
    ensureSingle: { mode: 'DEFAULT' },
    pending: arrivesWith.phase2,
  }),
  defineTask({
    module,
    name: 'volumedriver_error',
    summary: 'Handles error messages/events from the volumedriver',
    params: z.object({ code: nonNegativeInt.max(0xffff), volume_id: volumeId }).strict(),
    owner: cluster,
    pending: arrivesWith.mds,
  }),
];

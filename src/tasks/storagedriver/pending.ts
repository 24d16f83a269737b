import { z } from 'zod';
import { defineTask, type TaskDef } from '../define.js';
import { arrivesWith } from '../shapes.js';

const module = 'storagedriver';
const cluster = { kind: 'cluster' } as const;

export const storagedriverPending: TaskDef[] = [
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
    name: 'scheduled_voldrv_arakoon_checkup',
    summary: 'Makes sure the volumedriver arakoon is on all available master nodes',
    params: z.object({}).strict(),
    owner: cluster,
    ensureSingle: { mode: 'DEFAULT' },
    pending: arrivesWith.phase2,
  }),
];

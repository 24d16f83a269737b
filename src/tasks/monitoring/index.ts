import { z } from 'zod';
import { defineTask, type TaskDef } from '../define.js';
import { arrivesWith } from '../shapes.js';

export const monitoringTasks: TaskDef[] = [
  defineTask({
    module: 'monitoring',
    name: 'verify_vdisk_cache_quota',
    summary: 'Validates whether the caching quota is reaching its limits or has surpassed it',
    params: z.object({}).strict(),
    owner: { kind: 'cluster' },
    ensureSingle: { mode: 'DEFAULT' },
    pending: arrivesWith.alba,
  }),
];

import { z } from 'zod';
import { defineTask, type TaskDef } from '../define.js';
import { arrivesWith } from '../shapes.js';

export const migrationTasks: TaskDef[] = [
  defineTask({
    module: 'migration',
    name: 'migrate',
    summary: 'Executes async migrations',
    params: z.object({}).strict(),
    owner: { kind: 'cluster' },
    ensureSingle: { mode: 'DEFAULT' },
    pending: arrivesWith.updates,
  }),
];

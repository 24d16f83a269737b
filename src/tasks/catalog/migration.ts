import { z } from 'zod';
import type { TaskDef } from '../define.js';
import { arrivesWith, pendingTask } from './shapes.js';

export const migrationPending: TaskDef[] = [
  pendingTask({
    module: 'migration',
    name: 'migrate',
    summary: 'Executes async migrations',
    params: z.object({}).strict(),
    owner: { kind: 'cluster' },
    ensureSingle: { mode: 'DEFAULT' },
    pending: arrivesWith.updates,
  }),
];

import { z } from 'zod';
import type { TaskDef } from '../define.js';
import { arrivesWith, pendingTask } from './shapes.js';

export const stats_monkeyPending: TaskDef[] = [
  pendingTask({
    module: 'stats_monkey',
    name: 'run_all',
    summary: 'Run all the get stats methods from StatsMonkeyController',
    params: z.object({}).strict(),
    owner: { kind: 'cluster' },
    ensureSingle: { mode: 'DEFAULT' },
    pending: arrivesWith.support,
  }),
];

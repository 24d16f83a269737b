import { z } from 'zod';
import { defineTask, type TaskDef } from '../define.js';
import { arrivesWith } from '../shapes.js';

export const statsMonkeyTasks: TaskDef[] = [
  defineTask({
    module: 'stats_monkey',
    name: 'run_all',
    summary: 'Run all the get stats methods from StatsMonkeyController',
    params: z.object({}).strict(),
    owner: { kind: 'cluster' },
    ensureSingle: { mode: 'DEFAULT' },
    pending: arrivesWith.support,
  }),
];

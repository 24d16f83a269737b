import { z } from 'zod';
import { defineTask, type TaskDef } from '../define.js';
import { guid } from '../params.js';
import { arrivesWith } from '../shapes.js';

const module = 'generic';
const cluster = { kind: 'cluster' } as const;

export const genericPending: TaskDef[] = [
  defineTask({
    module,
    name: 'collapse_arakoon',
    summary: "Collapse Arakoon's Tlogs",
    params: z.object({}).strict(),
    owner: cluster,
    ensureSingle: { mode: 'DEFAULT' },
    pending: arrivesWith.arakoon,
  }),
  defineTask({
    module,
    name: 'run_backend_domain_hooks',
    summary: 'Run hooks when the Backend Domains have been updated',
    params: z.object({ backend_guid: guid }).strict(),
    owner: cluster,
    pending: arrivesWith.alba,
  }),
];

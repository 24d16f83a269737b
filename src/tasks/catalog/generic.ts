import { z } from 'zod';
import type { TaskDef } from '../define.js';
import { guid, guidList, timestamp } from '../params.js';
import { arrivesWith, pendingTask } from './shapes.js';

const module = 'generic';
const cluster = { kind: 'cluster' } as const;

export const genericPending: TaskDef[] = [
  pendingTask({
    module,
    name: 'collapse_arakoon',
    summary: "Collapse Arakoon's Tlogs",
    params: z.object({}).strict(),
    owner: cluster,
    ensureSingle: { mode: 'DEFAULT' },
    pending: arrivesWith.arakoon,
  }),
  pendingTask({
    module,
    name: 'delete_snapshots',
    summary: 'Delete snapshots based on the retention policy',
    params: z.object({ timestamp: timestamp.nullable().optional() }).strict(),
    owner: cluster,
    ensureSingle: { mode: 'DEFAULT' },
    pending: arrivesWith.issue4,
  }),
  pendingTask({
    module,
    name: 'delete_snapshots_storagedriver',
    summary: 'Delete snapshots per storagedriver & scrubbing policy',
    params: z
      .object({
        storagedriver_guid: guid,
        timestamp: timestamp.nullable().optional(),
        group_id: guid.nullable().optional(),
      })
      .strict(),
    owner: cluster,
    ensureSingle: { mode: 'DEDUPED' },
    pending: arrivesWith.issue4,
  }),
  pendingTask({
    module,
    name: 'execute_scrub',
    summary: 'Divide the scrub work among all StorageRouters with a SCRUB partition',
    params: z
      .object({
        vpool_guids: guidList.nullable().optional(),
        vdisk_guids: guidList.nullable().optional(),
        storagerouter_guid: guid.nullable().optional(),
        manual: z.boolean().optional(),
      })
      .strict(),
    owner: cluster,
    ensureSingle: { mode: 'DEDUPED' },
    pending: arrivesWith.scrub,
  }),
  pendingTask({
    module,
    name: 'refresh_package_information',
    summary: 'Retrieve and store the package information of all StorageRouters',
    params: z.object({}).strict(),
    owner: cluster,
    ensureSingle: { mode: 'DEFAULT' },
    pending: arrivesWith.updates,
  }),
  pendingTask({
    module,
    name: 'run_backend_domain_hooks',
    summary: 'Run hooks when the Backend Domains have been updated',
    params: z.object({ backend_guid: guid }).strict(),
    owner: cluster,
    pending: arrivesWith.alba,
  }),
  pendingTask({
    module,
    name: 'snapshot_all_vdisks',
    summary: 'Snapshots all vDisks',
    params: z.object({}).strict(),
    owner: cluster,
    // The original also discards it while delete_snapshots runs (extra_task_names); EnsureSingle has no sibling names.
    ensureSingle: { mode: 'DEFAULT' },
    pending: arrivesWith.issue4,
  }),
];

import { z } from 'zod';
import { defineTask, type TaskDef } from '../define.js';
import { guid, guidList } from '../params.js';
import { arrivesWith } from '../shapes.js';

const module = 'vpool';

// balance_change is implemented elsewhere.
export const vpoolPending: TaskDef[] = [
  defineTask({
    module,
    name: 'shrink_vpool',
    summary: 'Removes a StorageDriver (if its the last StorageDriver for a vPool, the vPool is removed as well)',
    params: z
      .object({ storagedriver_guid: guid, offline_storage_router_guids: guidList.nullable().optional() })
      .strict(),
    owner: { kind: 'cluster' },
    pending: arrivesWith.cluster,
  }),
];

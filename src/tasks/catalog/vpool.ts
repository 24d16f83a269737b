import { z } from 'zod';
import type { TaskDef } from '../define.js';
import { guid, guidList } from '../params.js';
import { arrivesWith, pendingTask, storagedriverId } from './shapes.js';

const module = 'vpool';

// balance_change is implemented elsewhere.
export const vpoolPending: TaskDef[] = [
  pendingTask({
    module,
    name: 'shrink_vpool',
    summary: 'Removes a StorageDriver (if its the last StorageDriver for a vPool, the vPool is removed as well)',
    params: z
      .object({ storagedriver_guid: guid, offline_storage_router_guids: guidList.nullable().optional() })
      .strict(),
    owner: { kind: 'cluster' },
    pending: arrivesWith.issue4,
  }),
  pendingTask({
    module,
    name: 'up_and_running',
    summary: 'Volumedriver informs us that the service is completely started',
    params: z.object({ storagedriver_id: storagedriverId }).strict(),
    owner: { kind: 'cluster' },
    pending: arrivesWith.issue4,
  }),
];

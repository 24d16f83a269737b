import type { TaskDef } from '../define.js';

// disk.sync_with_reality, the only task of the module, is implemented elsewhere.
export const diskPending: TaskDef[] = [];

import type { TaskDef } from '../define.js';

// balance_change, shrink_vpool and up_and_running are implemented in their own files.
export const vpoolPending: TaskDef[] = [];

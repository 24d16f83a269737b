import type { TaskDef } from '../define.js';

/** Tasks of the module declared without a handler yet (answered as NOT_IMPLEMENTED). */
export const storagedriverPending: TaskDef[] = [];

import type { TaskDef } from '../define.js';
import { markOffline } from './mark-offline.js';
import { storagedriverPending } from './pending.js';

export const storagedriverTasks: TaskDef[] = [markOffline, ...storagedriverPending];

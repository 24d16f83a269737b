import type { TaskDef } from '../define.js';
import { syncWithReality } from './sync-with-reality.js';

export const diskTasks: TaskDef[] = [syncWithReality];

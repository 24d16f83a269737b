import type { TaskDef } from '../define.js';
import { runAllStats } from './run-all.js';

export const statsMonkeyTasks: TaskDef[] = [runAllStats];

import type { TaskDef } from '../define.js';
import { migrate } from './migrate.js';

export const migrationTasks: TaskDef[] = [migrate];

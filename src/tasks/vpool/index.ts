import type { TaskDef } from '../define.js';
import { balanceChange } from './balance-change.js';
import { vpoolPending } from './pending.js';
import { shrinkVpool } from './shrink-vpool.js';
import { upAndRunning } from './up-and-running.js';

export const vpoolTasks: TaskDef[] = [upAndRunning, balanceChange, shrinkVpool, ...vpoolPending];

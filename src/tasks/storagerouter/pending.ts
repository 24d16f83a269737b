import type { TaskDef } from '../define.js';

// Every storagerouter task has its own file now (ping.ts, configure-support.ts, get-logfiles.ts, ...).
export const storagerouterPending: TaskDef[] = [];

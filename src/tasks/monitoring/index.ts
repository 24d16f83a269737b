import type { TaskDef } from '../define.js';
import { verifyVdiskCacheQuota } from './verify-vdisk-cache-quota.js';

export const monitoringTasks: TaskDef[] = [verifyVdiskCacheQuota];

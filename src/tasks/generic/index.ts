import type { TaskDef } from '../define.js';
import { collapseArakoon } from './collapse-arakoon.js';
import { executeScrub } from './execute-scrub.js';
import { genericPending } from './pending.js';
import { refreshPackageInformation } from './refresh-package-information.js';
import { runBackendDomainHooks } from './run-backend-domain-hooks.js';
import { deleteSnapshots, deleteSnapshotsStoragedriver, snapshotAllVdisks } from './snapshot-tasks.js';

export const genericTasks: TaskDef[] = [snapshotAllVdisks, deleteSnapshots, deleteSnapshotsStoragedriver, executeScrub, refreshPackageInformation, collapseArakoon, runBackendDomainHooks, ...genericPending];

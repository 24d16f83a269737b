import type { TaskDef } from '../define.js';
import { executeScrub } from './execute-scrub.js';
import { genericPending } from './pending.js';
import { refreshPackageInformation } from './refresh-package-information.js';
import { deleteSnapshots, deleteSnapshotsStoragedriver, snapshotAllVdisks } from './snapshot-tasks.js';

export const genericTasks: TaskDef[] = [snapshotAllVdisks, deleteSnapshots, deleteSnapshotsStoragedriver, executeScrub, refreshPackageInformation, ...genericPending];

import type { TaskDef } from '../define.js';
import { genericPending } from './pending.js';
import { deleteSnapshots, deleteSnapshotsStoragedriver, snapshotAllVdisks } from './snapshot-tasks.js';

export const genericTasks: TaskDef[] = [snapshotAllVdisks, deleteSnapshots, deleteSnapshotsStoragedriver, ...genericPending];

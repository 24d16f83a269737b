import type { TaskDef } from '../define.js';
import { diskPending } from './disk.js';
import { genericPending } from './generic.js';
import { mdsPending } from './mds.js';
import { migrationPending } from './migration.js';
import { monitoringPending } from './monitoring.js';
import { stats_monkeyPending } from './stats_monkey.js';
import { storagedriverPending } from './storagedriver.js';
import { storagerouterPending } from './storagerouter.js';
import { updatePending } from './update.js';
import { vdiskPending } from './vdisk.js';
import { vpoolPending } from './vpool.js';

/** Every seed task that is declared but not implemented yet (each has `pending`, none has a handler). */
export const pendingTasks: TaskDef[] = [
  ...diskPending,
  ...genericPending,
  ...mdsPending,
  ...migrationPending,
  ...monitoringPending,
  ...stats_monkeyPending,
  ...storagedriverPending,
  ...storagerouterPending,
  ...updatePending,
  ...vdiskPending,
  ...vpoolPending,
];

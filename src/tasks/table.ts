import { fullName, type TaskDef } from './define.js';
import { diskTasks } from './disk/index.js';
import { genericTasks } from './generic/index.js';
import { mdsTasks } from './mds/index.js';
import { migrationTasks } from './migration/index.js';
import { monitoringTasks } from './monitoring/index.js';
import { statsMonkeyTasks } from './stats_monkey/index.js';
import { storagedriverTasks } from './storagedriver/index.js';
import { storagerouterTasks } from './storagerouter/index.js';
import { testTasks } from './test/sleep.js';
import { updateTasks } from './update/index.js';
import { vdiskTasks } from './vdisk/index.js';
import { vpoolTasks } from './vpool/index.js';

/** Every seed task, each declared once by `defineTask` in its module's folder. */
const SEED_TASKS: readonly TaskDef[] = [
  ...diskTasks,
  ...genericTasks,
  ...mdsTasks,
  ...migrationTasks,
  ...monitoringTasks,
  ...statsMonkeyTasks,
  ...storagedriverTasks,
  ...storagerouterTasks,
  ...updateTasks,
  ...vdiskTasks,
  ...vpoolTasks,
];

/**
 * The one task table, built from the declarations alone. The invocation path, the CLI and the docs read it; tasks
 * without a handler answer NOT_IMPLEMENTED with the reason they carry.
 */
export function buildTaskTable(opts: { testTasks?: boolean } = {}): ReadonlyMap<string, TaskDef> {
  const table = new Map<string, TaskDef>();
  for (const def of [...SEED_TASKS, ...(opts.testTasks ? testTasks : [])]) {
    const name = fullName(def);
    if (table.has(name)) throw new Error(`task ${name} is declared twice`);
    table.set(name, def);
  }
  return table;
}

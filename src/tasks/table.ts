import { fullName, type TaskDef } from './define.js';
import { pendingTasks } from './catalog/index.js';
import { syncWithReality } from './disk/sync-with-reality.js';
import { getMetadata } from './storagerouter/get-metadata.js';
import { getVersionInfo } from './storagerouter/get-version-info.js';
import { mountpointExists } from './storagerouter/mountpoint-exists.js';
import { ping } from './storagerouter/ping.js';
import { refreshHardware } from './storagerouter/refresh-hardware.js';
import { testTasks } from './test/sleep.js';
import { balanceChange } from './vpool/balance-change.js';
import { implement, type Implementation } from './implementation.js';
import { addVpool } from './storagerouter/add-vpool.js';
import { upAndRunning } from './vpool/up-and-running.js';
import { vdiskImplementations } from './vdisk/vdisk-tasks.js';
import { vdiskAdminImplementations, vdiskFanOutImplementations } from './vdisk/vdisk-admin-tasks.js';
import { deleteSnapshots, deleteSnapshotsStoragedriver, snapshotAllVdisks } from './generic/snapshot-tasks.js';

const implemented = [syncWithReality, ping, getVersionInfo, getMetadata, mountpointExists, refreshHardware, balanceChange] as TaskDef[];

/**
 * The one task table: every seed task, declared once. The router, validation, CLI and docs read it.
 * Tasks without a handler answer NOT_IMPLEMENTED with the reason they carry.
 */
const implementations: Record<string, Implementation> = {
  ...vdiskImplementations,
  ...vdiskAdminImplementations,
  ...vdiskFanOutImplementations,
  'storagerouter.add_vpool': addVpool,
  'generic.snapshot_all_vdisks': snapshotAllVdisks,
  'generic.delete_snapshots': deleteSnapshots,
  'generic.delete_snapshots_storagedriver': deleteSnapshotsStoragedriver,
  'vpool.up_and_running': upAndRunning,
};

export function buildTaskTable(opts: { testTasks?: boolean } = {}): ReadonlyMap<string, TaskDef> {
  const table = new Map<string, TaskDef>();
  const declared = pendingTasks.map((d) => {
    const impl = implementations[fullName(d)];
    return impl ? implement(d, impl) : d;
  });
  for (const def of [...implemented, ...declared, ...(opts.testTasks ? testTasks : [])]) {
    const name = fullName(def);
    if (table.has(name)) throw new Error(`task ${name} is declared twice`);
    table.set(name, def);
  }
  return table;
}

import type { TaskDef } from '../define.js';
import { clone, createFromTemplate, createNew, setAsTemplate } from './create.js';
import { getConfigParams, setConfigParams } from './config-params.js';
import { createSnapshots, deleteSnapshots } from './fan-outs.js';
import { dtlCheckup } from './dtl-checkup.js';
import { dtlStateTransition } from './dtl-state-transition.js';
import { deleteVdisk, extend, restart } from './lifecycle.js';
import { migrateFromVoldrv, move, moveMultiple } from './move.js';
import { listVolumes, syncWithReality } from './reality.js';
import { createSnapshot, deleteSnapshot, isVolumeSyncedUpToSnapshot, isVolumeSyncedUpToTlog, rollback, scheduleBackendSync } from './snapshots.js';
import { deleteFromVoldrv, renameFromVoldrv, resizeFromVoldrv } from './voldrv-events.js';

export const vdiskTasks: TaskDef[] = [
  createNew, clone, createFromTemplate, setAsTemplate,
  createSnapshot, deleteSnapshot, rollback, isVolumeSyncedUpToSnapshot, isVolumeSyncedUpToTlog, scheduleBackendSync,
  extend, deleteVdisk, restart, getConfigParams, setConfigParams,
  deleteFromVoldrv, resizeFromVoldrv, renameFromVoldrv, listVolumes, syncWithReality, createSnapshots, deleteSnapshots,
  move, moveMultiple, migrateFromVoldrv, dtlCheckup, dtlStateTransition,
];

import type { TaskDef } from '../define.js';
import { clusterRegistryCheckup } from './cluster-registry-checkup.js';
import { markOffline } from './mark-offline.js';
import { storagedriverPending } from './pending.js';
import { refreshConfiguration } from './refresh-configuration.js';
import { manualVoldrvArakoonCheckup, scheduledVoldrvArakoonCheckup } from './voldrv-arakoon-checkup.js';
import { volumedriverError } from './volumedriver-error.js';

export const storagedriverTasks: TaskDef[] = [markOffline, clusterRegistryCheckup, refreshConfiguration, volumedriverError, manualVoldrvArakoonCheckup, scheduledVoldrvArakoonCheckup, ...storagedriverPending];

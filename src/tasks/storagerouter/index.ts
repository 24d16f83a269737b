import type { TaskDef } from '../define.js';
import { addVpool } from './add-vpool.js';
import { configureDisk } from './configure-disk.js';
import { getMetadata } from './get-metadata.js';
import { getVersionInfo } from './get-version-info.js';
import { mountpointExists } from './mountpoint-exists.js';
import { ping } from './ping.js';
import { refreshHardware } from './refresh-hardware.js';
import { storagerouterPending } from './pending.js';

export const storagerouterTasks: TaskDef[] = [addVpool, configureDisk, getMetadata, getVersionInfo, mountpointExists, ping, refreshHardware, ...storagerouterPending];

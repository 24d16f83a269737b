import type { TaskDef } from '../define.js';
import { addVpool } from './add-vpool.js';
import { configureDisk } from './configure-disk.js';
import { configureSupport } from './configure-support.js';
import { createHprmConfigFiles } from './create-hprm-config-files.js';
import { getLogfiles } from './get-logfiles.js';
import { getMetadata } from './get-metadata.js';
import { getSupportInfo } from './get-support-info.js';
import { getProxyConfig } from './get-proxy-config.js';
import { getSupportMetadata } from './get-support-metadata.js';
import { getVersionInfo } from './get-version-info.js';
import { mountpointExists } from './mountpoint-exists.js';
import { ping } from './ping.js';
import { refreshHardware } from './refresh-hardware.js';
import { storagerouterPending } from './pending.js';

export const storagerouterTasks: TaskDef[] = [addVpool, configureDisk, configureSupport, createHprmConfigFiles, getLogfiles, getMetadata, getProxyConfig, getSupportInfo, getSupportMetadata, getVersionInfo, mountpointExists, ping, refreshHardware, ...storagerouterPending];

import { z } from 'zod';
import { defineTask, type TaskDef } from '../define.js';
import { arrivesWith, componentNames, ipv4 } from '../shapes.js';

const module = 'update';
const cluster = { kind: 'cluster' } as const;
const pending = arrivesWith.updates;

export const updateTasks: TaskDef[] = [
  defineTask({
    module,
    name: 'get_update_metadata',
    summary: 'Returns metadata required for updating',
    params: z.object({ storagerouter_ip: ipv4 }).strict(),
    owner: cluster,
    pending,
  }),
  defineTask({
    module,
    name: 'merge_downtime_information',
    summary: 'Merge the downtime information and prerequisite information of all StorageRouters and plugins per component',
    params: z.object({}).strict(),
    owner: cluster,
    pending,
  }),
  defineTask({
    module,
    name: 'merge_package_information',
    summary: 'Merge the package information of all StorageRouters and plugins (ALBA, iSCSI, ...) per IP',
    params: z.object({}).strict(),
    owner: cluster,
    pending,
  }),
  defineTask({
    module,
    name: 'update_components',
    summary: 'Initiate the update through commandline for all StorageRouters',
    // Not in the seed's docstring; the signature has it (spec §10.4).
    params: z.object({ components: componentNames }).strict(),
    owner: cluster,
    pending,
  }),
];

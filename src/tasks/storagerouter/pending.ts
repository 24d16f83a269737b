import { z } from 'zod';
import { defineTask, type TaskDef } from '../define.js';
import { arrivesWith, supportInfo } from '../shapes.js';

const module = 'storagerouter';

// ping, get_version_info, get_metadata, mountpoint_exists, refresh_hardware and configure_disk are implemented elsewhere.
export const storagerouterPending: TaskDef[] = [
  defineTask({
    module,
    name: 'configure_support',
    summary: 'Configures support on all StorageRouters',
    params: z.object({ support_info: supportInfo }).strict(),
    owner: { kind: 'cluster' },
    pending: arrivesWith.support,
  }),
  defineTask({
    module,
    name: 'get_support_info',
    summary: 'Returns support information for the entire cluster',
    params: z.object({}).strict(),
    owner: { kind: 'any' },
    pending: arrivesWith.support,
  }),
];

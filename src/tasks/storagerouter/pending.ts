import { z } from 'zod';
import { defineTask, type TaskDef } from '../define.js';
import { guid, record } from '../params.js';
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
    name: 'create_hprm_config_files',
    summary: 'Create the required configuration files to be able to make use of HPRM (aka PRACC)',
    params: z.object({ vpool_guid: guid, local_storagerouter_guid: guid, parameters: record }).strict(),
    owner: { kind: 'node', param: 'local_storagerouter_guid' },
    pending: arrivesWith.alba,
  }),
  defineTask({
    module,
    name: 'get_logfiles',
    summary: "Collects logs, moves them to a web-accessible location and returns log tgz's filename",
    params: z.object({ local_storagerouter_guid: guid }).strict(),
    owner: { kind: 'node', param: 'local_storagerouter_guid' },
    pending: arrivesWith.logs,
  }),
  defineTask({
    module,
    name: 'get_proxy_config',
    summary: 'Gets the ALBA proxy for a given StorageRouter and vPool',
    params: z.object({ storagerouter_guid: guid, vpool_guid: guid }).strict(),
    owner: { kind: 'any' },
    pending: arrivesWith.alba,
  }),
  defineTask({
    module,
    name: 'get_support_info',
    summary: 'Returns support information for the entire cluster',
    params: z.object({}).strict(),
    owner: { kind: 'any' },
    pending: arrivesWith.support,
  }),
  defineTask({
    module,
    name: 'get_support_metadata',
    summary: 'Returns support metadata for a given StorageRouter',
    params: z.object({}).strict(),
    // The original routes it by queue to the node of interest; without a guid parameter to route on, the node that
    // receives it answers, so callers address that node directly.
    owner: { kind: 'any' },
    pending: arrivesWith.support,
  }),
];

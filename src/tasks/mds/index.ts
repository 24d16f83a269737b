import { z } from 'zod';
import { defineTask, type TaskDef } from '../define.js';
import { guid, guidList, record } from '../params.js';
import { arrivesWith } from '../shapes.js';

const module = 'mds';
const pending = arrivesWith.mds;

export const mdsTasks: TaskDef[] = [
  defineTask({
    module,
    name: 'ensure_safety',
    summary: 'Ensures (or tries to ensure) the safety of a given vDisk',
    params: z.object({ vdisk_guid: guid, excluded_storagerouter_guids: guidList.nullable().optional() }).strict(),
    owner: { kind: 'vdisk', param: 'vdisk_guid' },
    pending,
  }),
  defineTask({
    module,
    name: 'ensure_safety_vpool',
    summary: 'Ensures safety for a single vdisk of a vpool',
    params: z
      .object({ vpool_guid: guid, vdisk_guid: guid, excluded_storagerouter_guids: guidList.nullable().optional() })
      .strict(),
    owner: { kind: 'vpool', param: 'vpool_guid' },
    ensureSingle: { mode: 'DEDUPED', ignoreArguments: ['vdisk_guid', 'excluded_storagerouter_guids'] },
    pending,
  }),
  defineTask({
    module,
    name: 'mds_catchup',
    summary: 'Looks to catch up all MDS slaves which are too far behind',
    params: z.object({}).strict(),
    owner: { kind: 'cluster' },
    ensureSingle: { mode: 'DEFAULT' },
    pending,
  }),
  defineTask({
    module,
    name: 'mds_checkup',
    summary: 'Validates the current MDS setup/configuration and takes actions where required',
    params: z.object({}).strict(),
    owner: { kind: 'cluster' },
    ensureSingle: { mode: 'CHAINED' },
    pending,
  }),
  defineTask({
    module,
    name: 'mds_checkup_single',
    summary: 'Validates the MDS setup/configuration of one vPool and takes actions where required',
    params: z
      .object({
        vpool_guid: guid,
        mds_dict: record.nullable().optional(),
        // StorageRouter objects in the original; their guids on the wire.
        offline_nodes: guidList.nullable().optional(),
      })
      .strict(),
    owner: { kind: 'vpool', param: 'vpool_guid' },
    ensureSingle: { mode: 'DEDUPED', ignoreArguments: ['mds_dict', 'offline_nodes'] },
    pending,
  }),
];

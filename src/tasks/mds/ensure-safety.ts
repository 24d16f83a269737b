import { z } from 'zod';
import { MdsError } from '../../errors.js';
import { defineTask } from '../define.js';
import { guid, guidList } from '../params.js';
import { ensureSafety, type SafetyOutcome } from './safety-run.js';

const module = 'mds';

export const ensureSafetyVpool = defineTask({
  module,
  name: 'ensure_safety_vpool',
  summary: 'Ensures safety for a single vdisk of a vpool',
  params: z.object({ vpool_guid: guid, vdisk_guid: guid, excluded_storagerouter_guids: guidList.nullable().optional() }).strict(),
  owner: { kind: 'vpool', param: 'vpool_guid' },
  // One safety computation per vPool at a time: loads are read, then changed.
  ensureSingle: { mode: 'DEDUPED', ignoreArguments: ['vdisk_guid', 'excluded_storagerouter_guids'] },
  async handler({ vdisk_guid, excluded_storagerouter_guids }, { services, log }) {
    return ensureSafety(services, log, vdisk_guid, excluded_storagerouter_guids ?? []);
  },
});

export const ensureSafetyTask = defineTask({
  module,
  name: 'ensure_safety',
  summary: 'Ensures (or tries to ensure) the safety of a given vDisk',
  params: z.object({ vdisk_guid: guid, excluded_storagerouter_guids: guidList.nullable().optional() }).strict(),
  owner: { kind: 'vdisk', param: 'vdisk_guid' },
  async handler({ vdisk_guid, excluded_storagerouter_guids }, { services: s, deadline }) {
    const vdisk = s.view.get('vdisk', vdisk_guid);
    const params = { vpool_guid: String(vdisk.vpool_guid), vdisk_guid, excluded_storagerouter_guids: excluded_storagerouter_guids ?? null };
    // ensure_safety_vpool dedupes on the vPool alone: a request coalesced onto another vDisk's run did nothing for
    // this one (the original returned as if it had), so it asks again.
    for (let attempt = 0; attempt < 20 && Date.now() < deadline; attempt++) {
      const outcome = (await s.call('mds.ensure_safety_vpool', params, deadline)) as SafetyOutcome | null;
      if (outcome?.vdisk_guid === vdisk_guid) return outcome;
    }
    throw new MdsError(`ensure_safety of vDisk ${vdisk_guid} kept being coalesced onto other vDisks' runs; try again`, {});
  },
});

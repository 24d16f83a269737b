import { z } from 'zod';
import { DTL_STATE_CODES } from '../../dataplane/dtl/config.js';
import { StorageDriverNotInModelError } from '../../errors.js';
import { defineTask } from '../define.js';
import { storagedriverId, volumeId } from '../shapes.js';

const dtlState = z.number().int().min(0).max(3);

export const dtlStateTransition = defineTask({
  module: 'vdisk',
  name: 'dtl_state_transition',
  summary: 'Triggered by volumedriver when DTL state changes',
  params: z
    .object({ volume_id: volumeId, old_state: dtlState, new_state: dtlState, storagedriver_id: storagedriverId })
    .strict(),
  owner: { kind: 'cluster' },
  async handler(p, { services: s, log }) {
    // A volume that only just got a DTL target goes STANDALONE → DEGRADED while it attaches: not a failure.
    if (p.new_state !== DTL_STATE_CODES.DEGRADED || p.old_state === DTL_STATE_CODES.OK_STANDALONE) return null;
    const vdisk = s.view.list('vdisk', { volume_id: p.volume_id })[0];
    if (!vdisk) return null;
    const sd = s.view.list('storagedriver', { storagedriver_id: p.storagedriver_id })[0];
    if (!sd) throw new StorageDriverNotInModelError(p.storagedriver_id);
    log.info({ vdisk_guid: vdisk.guid, storagedriver_id: p.storagedriver_id }, 'vDisk DTL DEGRADED; checking its DTL');
    return s.call('vdisk.dtl_checkup', { vdisk_guid: vdisk.guid, storagerouters_to_exclude: [String(sd.storagerouter_guid)] });
  },
});

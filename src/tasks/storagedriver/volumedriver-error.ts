import { z } from 'zod';
import { defineTask } from '../define.js';
import { nonNegativeInt } from '../params.js';
import { volumeId } from '../shapes.js';

/** `VolumeDriverErrorCode.MDSFailover`: the volume switched to another MDS master. */
export const MDS_FAILOVER = 25;

export const volumedriverError = defineTask({
  module: 'storagedriver',
  name: 'volumedriver_error',
  summary: 'Handles error messages/events from the volumedriver',
  params: z.object({ code: nonNegativeInt.max(0xffff), volume_id: volumeId }).strict(),
  owner: { kind: 'cluster' },
  async handler({ code, volume_id }, { services: s, log, deadline }) {
    if (code !== MDS_FAILOVER) return null;
    const vdisk = s.view.list('vdisk', { volume_id })[0];
    if (!vdisk) return null;
    log.info({ vdisk_guid: vdisk.guid, volume_id }, 'vDisk failed over its MDS master; restoring its MDS safety');
    return s.call('mds.ensure_safety', { vdisk_guid: vdisk.guid }, deadline);
  },
});

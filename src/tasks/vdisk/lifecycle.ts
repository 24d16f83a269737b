import { z } from 'zod';
import { InvalidSizeError, ObjectStillHasChildrenError } from '../../dataplane/errors.js';
import { ObjectNotFoundError, VolumeRunningError } from '../../errors.js';
import { defineTask } from '../define.js';
import { guid } from '../params.js';
import { volumeSize } from '../shapes.js';
import { checkSize, clonesOf, removeVdiskFromModel } from './volume-helpers.js';

const module = 'vdisk';
const onVdisk = { kind: 'vdisk', param: 'vdisk_guid' } as const;

export const extend = defineTask({
  module,
  name: 'extend',
  summary: 'Extend a vDisk through API',
  params: z.object({ vdisk_guid: guid, volume_size: volumeSize }).strict(),
  owner: onVdisk,
  async handler(p, { services: s, owner: { storagedriver: { driver }, volumeId, vdiskGuid } }) {
    const vdisk = s.view.get('vdisk', vdiskGuid);
    checkSize(p.volume_size, driver.o.geometry.clusterSize);
    if (p.volume_size < Number(vdisk.size)) throw new InvalidSizeError(`vDisk ${vdisk.guid} is ${String(vdisk.size)} bytes; shrinking is not allowed`, { size: p.volume_size });
    await driver.truncate({ object_id: volumeId, new_size: p.volume_size });
    await s.store.update('vdisk', vdisk.guid, (d) => (d.size = p.volume_size));
    return null;
  },
});

export const deleteVdisk = defineTask({
  module,
  name: 'delete',
  summary: 'Delete a vDisk through API',
  params: z.object({ vdisk_guid: guid }).strict(),
  owner: onVdisk,
  async handler(_p, { services: s, owner: { storagedriver: { driver }, vdiskGuid } }) {
    const vdisk = s.view.get('vdisk', vdiskGuid);
    const clones = clonesOf(s, vdisk.guid);
    if (clones.length > 0) throw new ObjectStillHasChildrenError(`vDisk ${vdisk.guid} has ${clones.length} clone(s)`, { clones: clones.length });
    await driver.unlink({ target_path: String(vdisk.devicename) });
    // The data plane's volume_delete event (delete_from_voldrv) may have removed it already.
    await removeVdiskFromModel(s, vdisk.guid).catch((e: unknown) => {
      if (!(e instanceof ObjectNotFoundError)) throw e;
    });
    return null;
  },
});

export const restart = defineTask({
  module,
  name: 'restart',
  summary: 'Restart the given vDisk',
  params: z.object({ vdisk_guid: guid, force: z.boolean() }).strict(),
  owner: onVdisk,
  async handler(p, { owner: { storagedriver: { driver }, volumeId, vdiskGuid } }) {
    const running = driver.running(volumeId);
    if (running && !running.halted) throw new VolumeRunningError(vdiskGuid);
    await driver.restart_object({ object_id: volumeId, force_restart: p.force });
    return null;
  },
});

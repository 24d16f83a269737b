import { z } from 'zod';
import { StorageDriverNotInModelError, VolumeNotFoundError } from '../../errors.js';
import { defineTask } from '../define.js';
import { removeVdiskFromModel, upsertVdiskOfVolume } from './volume-helpers.js';
import { vdiskCheckupAfter } from './checkup-after.js';
import { nonNegativeInt } from '../params.js';
import { storagedriverId, volumeId, vpoolPath } from '../shapes.js';

/** The model side of data-plane events (spec §3.22–3.24), run by the cluster singleton in event order. */
const module = 'vdisk';
const cluster = { kind: 'cluster' } as const;

export const deleteFromVoldrv = defineTask({
  module,
  name: 'delete_from_voldrv',
  summary: 'Delete a vDisk from model only since its been deleted on volumedriver',
  params: z.object({ volume_id: volumeId }).strict(),
  owner: cluster,
  async handler(p, { services: s }) {
    for (const vd of s.view.list('vdisk', { volume_id: p.volume_id })) await removeVdiskFromModel(s, vd.guid).catch(() => undefined);
    return null;
  },
});

export const resizeFromVoldrv = defineTask({
  module,
  name: 'resize_from_voldrv',
  summary: 'Resize a vDisk',
  params: z.object({ volume_id: volumeId, volume_size: nonNegativeInt, volume_path: vpoolPath, storagedriver_id: storagedriverId }).strict(),
  owner: cluster,
  // Identical events (a create and its retries) coalesce; different volumes run side by side.
  ensureSingle: { mode: 'DEDUPED' },
  async handler(p, { services: s, log }) {
    const sd = s.view.list('storagedriver', { storagedriver_id: p.storagedriver_id })[0];
    if (!sd) throw new StorageDriverNotInModelError(p.storagedriver_id);
    // A late event of a volume deleted meanwhile must not bring its vDisk back (spec §3.23).
    const info = await s.voldrv(sd.guid).info_volume({ volume_id: p.volume_id }).catch((e: unknown) => {
      if (e instanceof VolumeNotFoundError) return undefined;
      throw e;
    });
    if (!info) {
      log.warn({ volume_id: p.volume_id }, 'event for a volume that is gone; ignored');
      return null;
    }
    const name = p.volume_path.replace(/^.*\//, '').replace(/\.[^.]*$/, '');
    const vdisk = await upsertVdiskOfVolume(
      s,
      p.volume_id,
      { name, description: name, pagecache_ratio: 1.0, storagedriver_guid: sd.guid },
      { devicename: p.volume_path, size: p.volume_size, vpool_guid: sd.vpool_guid, metadata: { lba_size: info.lba_size, cluster_multiplier: info.cluster_multiplier } },
    );
    // vdisk_checkup's DTL part (spec §2.3); started, not awaited, so one slow checkup does not hold up the event stream.
    await vdiskCheckupAfter(s, log, vdisk.guid, 'async');
    return null;
  },
});

export const renameFromVoldrv = defineTask({
  module,
  name: 'rename_from_voldrv',
  summary: 'Processes a rename event from the volumedriver',
  params: z.object({ old_path: vpoolPath, new_path: vpoolPath, storagedriver_id: storagedriverId }).strict(),
  owner: cluster,
  async handler(p, { services: s }) {
    const norm = (x: string): string => `/${x.replace(/^\/+|\/+$/g, '')}/`;
    const [from, to] = [norm(p.old_path), norm(p.new_path)];
    const sd = s.view.list('storagedriver', { storagedriver_id: p.storagedriver_id })[0];
    if (!sd) return null;
    for (const vd of s.view.list('vdisk', { vpool_guid: sd.vpool_guid })) {
      const dev = String(vd.devicename);
      if (dev.startsWith(from)) await s.store.update('vdisk', vd.guid, (d) => (d.devicename = to + dev.slice(from.length)));
    }
    return null;
  },
});

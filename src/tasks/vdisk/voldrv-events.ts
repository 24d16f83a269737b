import { z } from 'zod';
import { defineTask } from '../define.js';
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
    for (const vd of s.view.list('vdisk', { volume_id: p.volume_id })) await s.store.delete('vdisk', vd.guid).catch(() => undefined);
    return null;
  },
});

export const resizeFromVoldrv = defineTask({
  module,
  name: 'resize_from_voldrv',
  summary: 'Resize a vDisk',
  params: z.object({ volume_id: volumeId, volume_size: nonNegativeInt, volume_path: vpoolPath, storagedriver_id: storagedriverId }).strict(),
  owner: cluster,
  async handler(p, { services: s }) {
    const vd = s.view.list('vdisk', { volume_id: p.volume_id })[0];
    // vDisks are created through the API (and sync_with_reality); the event only brings the size.
    if (vd && vd.size !== p.volume_size) await s.store.update('vdisk', vd.guid, (d) => (d.size = p.volume_size));
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

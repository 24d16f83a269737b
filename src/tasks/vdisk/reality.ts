import { z } from 'zod';
import { defineTask } from '../define.js';
import { guid } from '../params.js';

const module = 'vdisk';

export const listVolumes = defineTask({
  module,
  name: 'list_volumes',
  summary: 'List all known volumes on a specific vpool or on all',
  params: z.object({ vpool_guid: guid.nullable().optional() }).strict(),
  owner: { kind: 'any' },
  async handler(p, { services: s }) {
    if (p.vpool_guid) s.view.get('vpool', p.vpool_guid);
    const out: string[] = [];
    for (const sd of s.view.list('storagedriver', p.vpool_guid ? { vpool_guid: p.vpool_guid } : {})) {
      // The StorageDrivers this agent serves; cluster-wide listing arrives with the cluster data plane.
      const host = await s.storagedrivers.served(sd.guid);
      if (host) out.push(...host.driver.list_volumes({ node_id: String(sd.storagedriver_id) }));
    }
    return out;
  },
});

export const syncWithReality = defineTask({
  module,
  name: 'sync_with_reality',
  summary: 'Syncs vDisks in the model with reality',
  params: z.object({ vpool_guid: guid.nullable().optional() }).strict(),
  owner: { kind: 'cluster' },
  async handler(p, { services: s }) {
    let created = 0;
    let removed = 0;
    for (const sd of s.view.list('storagedriver', p.vpool_guid ? { vpool_guid: p.vpool_guid } : {})) {
      const host = await s.storagedrivers.served(sd.guid);
      if (!host) continue;
      const registered = new Map(host.driver.registry.list().map((r) => [r.object_id, r]));
      for (const vd of s.view.list('vdisk', { storagedriver_guid: sd.guid })) {
        if (!registered.has(String(vd.volume_id))) {
          await s.store.delete('vdisk', vd.guid).catch(() => undefined);
          removed++;
        }
      }
      for (const r of registered.values()) {
        if (s.view.list('vdisk', { volume_id: r.object_id }).length > 0 || !host.driver.running(r.object_id)) continue;
        const info = host.driver.info_volume({ volume_id: r.object_id });
        const name = r.target_path.replace(/^.*\//, '').replace(/\.raw$/, '');
        const parent = r.parent_volume ? s.view.list('vdisk', { volume_id: r.parent_volume })[0] : undefined;
        await s.store.create('vdisk', {
          name, description: name, devicename: r.target_path, volume_id: r.object_id, size: info.volume_size, pagecache_ratio: 1.0,
          metadata: { lba_size: info.lba_size, cluster_multiplier: info.cluster_multiplier }, vpool_guid: sd.vpool_guid, storagedriver_guid: sd.guid,
          parent_vdisk_guid: parent?.guid ?? null, parentsnapshot: r.parent_snapshot, is_vtemplate: r.object_type === 'TEMPLATE',
        });
        created++;
      }
    }
    return { created, removed };
  },
});

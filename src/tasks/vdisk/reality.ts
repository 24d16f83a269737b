import { z } from 'zod';
import { VolumeNotFoundError, asOvsError } from '../../errors.js';
import type { AgentServices } from '../../agent-services.js';
import type { ModelObject } from '../../model/schema.js';
import { defineTask } from '../define.js';
import { guid } from '../params.js';
import { removeVdiskFromModel } from './volume-helpers.js';

const module = 'vdisk';

function storagedriversOf(s: AgentServices, vpoolGuid: string | null | undefined): ModelObject[] {
  if (vpoolGuid) s.view.get('vpool', vpoolGuid);
  return s.view.list('storagedriver', vpoolGuid ? { vpool_guid: vpoolGuid } : {});
}

export const listVolumes = defineTask({
  module,
  name: 'list_volumes',
  summary: 'List all known volumes on a specific vpool or on all',
  params: z.object({ vpool_guid: guid.nullable().optional() }).strict(),
  owner: { kind: 'any' },
  async handler(p, { services: s }) {
    const vpools = p.vpool_guid ? [s.view.get('vpool', p.vpool_guid)] : s.view.list('vpool');
    const perVpool = await Promise.all(vpools.map((vpool) => volumesOf(s, vpool.guid)));
    return perVpool.flat();
  },
});

/**
 * Every StorageDriver of a vPool reads the vPool's one registry, so one that answers lists every volume, its own
 * node's first (no network), then the others: a node that is down does not hide the volumes it owned.
 */
async function volumesOf(s: AgentServices, vpoolGuid: string): Promise<string[]> {
  const sds = s.view.list('storagedriver', { vpool_guid: vpoolGuid }).sort((a, b) => Number(b.storagerouter_guid === s.storagerouterGuid) - Number(a.storagerouter_guid === s.storagerouterGuid));
  let last: unknown;
  for (const sd of sds) {
    try {
      return await s.voldrv(sd.guid).list_volumes({});
    } catch (e) {
      last = e;
    }
  }
  if (last !== undefined) throw asOvsError(last);
  return [];
}

export const syncWithReality = defineTask({
  module,
  name: 'sync_with_reality',
  summary: 'Syncs vDisks in the model with reality',
  params: z.object({ vpool_guid: guid.nullable().optional() }).strict(),
  owner: { kind: 'cluster' },
  async handler(p, { services: s, log }) {
    let created = 0;
    let removed = 0;
    const unreachable: string[] = [];
    for (const sd of storagedriversOf(s, p.vpool_guid)) {
      const driver = s.voldrv(sd.guid);
      const registrations = await driver.registrations().catch((e: unknown) => {
        // A StorageDriver that does not answer says nothing about its vDisks: they stay in the model.
        log.warn({ err: e, storagedriver_guid: sd.guid }, 'StorageDriver did not answer; its vDisks are left as they are');
        unreachable.push(sd.guid);
        return undefined;
      });
      if (!registrations) continue;
      const registered = new Map(registrations.filter((r) => r.node_id === sd.storagedriver_id).map((r) => [r.object_id, r]));
      for (const vd of s.view.list('vdisk', { storagedriver_guid: sd.guid })) {
        if (!registered.has(String(vd.volume_id))) {
          await removeVdiskFromModel(s, vd.guid).catch(() => undefined);
          removed++;
        }
      }
      for (const r of registered.values()) {
        if (s.view.list('vdisk', { volume_id: r.object_id }).length > 0) continue;
        const info = await driver.info_volume({ volume_id: r.object_id }).catch((e: unknown) => {
          if (e instanceof VolumeNotFoundError) return undefined; // registered but not running: nothing to show yet
          throw e;
        });
        if (!info) continue;
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
    return unreachable.length > 0 ? { created, removed, unreachable } : { created, removed };
  },
});

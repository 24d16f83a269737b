import { z } from 'zod';
import { defineTask } from '../define.js';
import { guid } from '../params.js';
import { HostCommandError, OvsError } from '../../errors.js';
import { discoverDisks } from '../../host/disks/discover.js';
import { planDiskSync, type DiskSyncAction, type ModelDisk, type ModelPartition } from '../../host/disks/plan.js';
import type { ModelStore } from '../../model/store.js';
import type { ModelReader } from '../../model/schema.js';

function modelDisks(reader: ModelReader, srGuid: string): { disks: ModelDisk[]; partitions: ModelPartition[] } {
  const disks = reader.reverse('storagerouter', srGuid, 'disks') as unknown as ModelDisk[];
  const partitions = disks.flatMap((d) => reader.reverse('disk', d.guid, 'partitions')) as unknown as ModelPartition[];
  return { disks, partitions };
}

async function apply(store: ModelStore, srGuid: string, actions: DiskSyncAction[]): Promise<void> {
  const createdDisks = new Map<string, string>();
  for (const a of actions) {
    switch (a.op) {
      case 'create_disk':
        createdDisks.set(a.ref, (await store.create('disk', { ...a.props, storagerouter_guid: srGuid })).guid);
        break;
      case 'update_disk':
        await store.update('disk', a.guid, (d) => Object.assign(d, a.set));
        break;
      case 'delete_disk':
        await store.delete('disk', a.guid);
        break;
      case 'create_partition': {
        const diskGuid = 'guid' in a.disk ? a.disk.guid : createdDisks.get(a.disk.ref);
        await store.create('diskpartition', { ...a.props, roles: [], disk_guid: diskGuid });
        break;
      }
      case 'update_partition':
        await store.update('diskpartition', a.guid, (p) => Object.assign(p, a.set));
        break;
      case 'delete_partition':
        await store.delete('diskpartition', a.guid);
        break;
    }
  }
}

export const syncWithReality = defineTask({
  module: 'disk',
  name: 'sync_with_reality',
  summary: "Sync the model's disks and partitions of a StorageRouter with what its host reports (lsblk, sysfs)",
  params: z.object({ storagerouter_guid: guid }).strict(),
  owner: { kind: 'node', param: 'storagerouter_guid' },
  // CHAINED at the StorageRouter's actor: scans of one host never overlap, identical requests coalesce.
  ensureSingle: { mode: 'CHAINED' },
  async handler({ storagerouter_guid }, { services, log, progress }) {
    services.view.get('storagerouter', storagerouter_guid);
    progress(0, 'reading lsblk, sysfs and parted');
    // Discovery throws typed errors (HostCommandError for lsblk, parted); anything else is a host inconsistency.
    const discovery = await discoverDisks().catch((e: unknown) => {
      throw e instanceof OvsError ? e : new HostCommandError('disk discovery', e instanceof Error ? e.message : String(e), true);
    });
    const actions = planDiskSync(modelDisks(services.view, storagerouter_guid), discovery);
    progress(0.5, `${actions.length} model changes`);
    await apply(services.store, storagerouter_guid, actions);
    const summary = {
      disks: discovery.disks.length,
      partitions: discovery.disks.reduce((n, d) => n + d.partitions.length, 0),
      changes: actions.length,
    };
    if (actions.length > 0) log.info({ ...summary, ops: actions.map((a) => a.op) }, 'disks synced with reality');
    return summary;
  },
});

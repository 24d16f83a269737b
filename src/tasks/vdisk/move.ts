import { z } from 'zod';
import { VpoolError } from '../../errors.js';
import type { AgentServices } from '../../agent-services.js';
import type { ModelObject } from '../../model/schema.js';
import { defineTask } from '../define.js';
import { guid, guidList } from '../params.js';
import { storagedriverId, volumeId } from '../shapes.js';
import { vdiskCheckupAfter } from './checkup-after.js';

const module = 'vdisk';

/** The StorageDriver of a vPool on a StorageRouter (spec §3.16 step 1); a StorageRouter outside the vPool is refused. */
function storagedriverOn(s: AgentServices, vpoolGuid: string, storagerouterGuid: string): ModelObject {
  s.view.get('storagerouter', storagerouterGuid);
  const sd = s.view.list('storagedriver', { vpool_guid: vpoolGuid, storagerouter_guid: storagerouterGuid })[0];
  if (!sd) throw new VpoolError(`StorageRouter ${storagerouterGuid} does not serve vPool ${vpoolGuid}`, { storagerouter_guid: storagerouterGuid, vpool_guid: vpoolGuid });
  return sd;
}

/** Points the model at the StorageDriver that now runs the volume (idempotent: the move and its event both do it). */
export async function recordOwner(s: AgentServices, vdiskGuid: string, storagedriverGuid: string): Promise<void> {
  await s.store.update('vdisk', vdiskGuid, (d) => {
    d.storagedriver_guid = storagedriverGuid;
  });
}

export const move = defineTask({
  module,
  name: 'move',
  summary: 'Move a vDisk to the specified StorageRouter',
  params: z.object({ vdisk_guid: guid, target_storagerouter_guid: guid, force: z.boolean().optional() }).strict(),
  owner: { kind: 'vdisk', param: 'vdisk_guid' },
  async handler(p, { services: s, owner, log }) {
    const vdisk = s.view.get('vdisk', owner.vdiskGuid);
    const source = owner.storagedriver;
    const target = storagedriverOn(s, String(vdisk.vpool_guid), p.target_storagerouter_guid);
    if (target.guid === source.sd.guid) return null;
    const targetDriver = s.voldrv(target.guid);
    // The target must answer before anything changes: a volume handed to a node that is down would wait for its failover.
    await targetDriver.list_volumes({ node_id: String(target.storagedriver_id) });
    await source.driver.release_volume({ volume_id: owner.volumeId, target_node_id: String(target.storagedriver_id) });
    log.info({ vdisk_guid: vdisk.guid, from: source.sd.storagerouter_guid, to: target.storagerouter_guid }, 'vDisk handed over; starting at its new owner');
    await targetDriver.restart_object({ object_id: owner.volumeId });
    await recordOwner(s, vdisk.guid, target.guid);
    await vdiskCheckupAfter(s, log, vdisk.guid, 'async');
    return null;
  },
});

export const moveMultiple = defineTask({
  module,
  name: 'move_multiple',
  summary: 'Move list of vDisks to the specified StorageRouter',
  params: z.object({ vdisk_guids: guidList, target_storagerouter_guid: guid, force: z.boolean().optional() }).strict(),
  owner: { kind: 'any' },
  async handler(p, { services: s }) {
    // One after the other; the first failure stops the rest (spec §3.17), each move at its vDisk's actor.
    for (const vdiskGuid of p.vdisk_guids) await s.call('vdisk.move', { vdisk_guid: vdiskGuid, target_storagerouter_guid: p.target_storagerouter_guid, force: p.force ?? false });
    return null;
  },
});

export const migrateFromVoldrv = defineTask({
  module,
  name: 'migrate_from_voldrv',
  summary: 'Triggered when volume has changed owner (Clean migration or stolen due to other reason)',
  params: z.object({ volume_id: volumeId, new_owner_id: storagedriverId }).strict(),
  owner: { kind: 'cluster' },
  async handler(p, { services: s, log }) {
    const vdisk = s.view.list('vdisk', { volume_id: p.volume_id })[0];
    const sd = s.view.list('storagedriver', { storagedriver_id: p.new_owner_id })[0];
    if (!vdisk || !sd) return null;
    if (vdisk.storagedriver_guid !== sd.guid) {
      log.info({ vdisk_guid: vdisk.guid, storagerouter_guid: sd.storagerouter_guid }, 'vDisk changed owner');
      await recordOwner(s, vdisk.guid, sd.guid);
    }
    await vdiskCheckupAfter(s, log, vdisk.guid, 'inline');
    return null;
  },
});

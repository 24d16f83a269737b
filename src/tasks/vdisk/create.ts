import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import { InvalidOperationError, ObjectStillHasChildrenError } from '../../dataplane/errors.js';
import { VpoolError } from '../../errors.js';
import { defineTask } from '../define.js';
import { guid, vdiskName } from '../params.js';
import { cacheQuota, pagecacheRatio, snapshotId, volumeSize } from '../shapes.js';
import type { AgentServices } from '../../agent-services.js';
import type { ModelObject } from '../../model/schema.js';
import type { VdiskOwner } from '../owner-resources.js';
import { vdiskCheckupAfter } from './checkup-after.js';
import { checkNameFree, checkSize, cleanDevicename, clonesOf, recordVdisk, waitInBackend } from './volume-helpers.js';

const module = 'vdisk';
const onVdisk = { kind: 'vdisk', param: 'vdisk_guid' } as const;

export const createNew = defineTask({
  module,
  name: 'create_new',
  summary: 'Create a new vDisk/volume using hypervisor calls',
  params: z
    .object({
      volume_name: vdiskName,
      volume_size: volumeSize,
      storagedriver_guid: guid,
      pagecache_ratio: pagecacheRatio.optional(),
      cache_quota: cacheQuota.nullable().optional(),
    })
    .strict(),
  owner: { kind: 'storagedriver', param: 'storagedriver_guid' },
  async handler(p, { services: s, owner: host, log }) {
    const devicename = cleanDevicename(p.volume_name);
    checkNameFree(s, String(host.sd.vpool_guid), devicename);
    checkSize(p.volume_size, host.driver.o.geometry.clusterSize);
    const volumeId = await host.driver.create_volume({ target_path: devicename, volume_size: p.volume_size, volume_id: randomUUID() });
    const vd = await recordVdisk(s, host.sd, volumeId, devicename, { name: p.volume_name, description: p.volume_name, pagecache_ratio: p.pagecache_ratio ?? 1.0, cache_quota: p.cache_quota ?? null });
    await vdiskCheckupAfter(s, log, vd.guid, 'inline');
    return vd.guid;
  },
});

/**
 * Where a child of a vDisk goes (spec §3.3): the StorageDriver of the parent's vPool on `storagerouterGuid` when
 * given, else the parent's own StorageDriver.
 */
function targetOf(s: AgentServices, owner: VdiskOwner, storagerouterGuid: string | null | undefined): ModelObject {
  const here = owner.storagedriver.sd;
  if (!storagerouterGuid || storagerouterGuid === here.storagerouter_guid) return here;
  s.view.get('storagerouter', storagerouterGuid);
  const sd = s.view.list('storagedriver', { vpool_guid: here.vpool_guid, storagerouter_guid: storagerouterGuid })[0];
  if (!sd) throw new VpoolError(`StorageRouter ${storagerouterGuid} does not serve the vPool of vDisk ${owner.vdiskGuid}`, { storagerouter_guid: storagerouterGuid, vpool_guid: here.vpool_guid });
  return sd;
}

const childParams = {
  vdisk_guid: guid,
  name: vdiskName,
  storagerouter_guid: guid.nullable().optional(),
  pagecache_ratio: pagecacheRatio.nullable().optional(),
  cache_quota: cacheQuota.nullable().optional(),
};

/**
 * The model side of a new clone (spec §3.3 steps 3–5): a best-effort backend sync (the original's workaround), then the
 * vDisk with the parent's cache settings unless given.
 */
async function recordChild(
  s: AgentServices,
  target: ModelObject,
  volumeId: string,
  devicename: string,
  parent: ModelObject,
  p: { name: string; pagecache_ratio?: number | null; cache_quota?: unknown },
  extra: Record<string, unknown>,
  log: Logger,
): Promise<{ vdisk_guid: string; name: string; backingdevice: string }> {
  await s.voldrv(target.guid).schedule_backend_sync({ volume_id: volumeId }).catch(() => undefined);
  const vd = await recordVdisk(s, target, volumeId, devicename, {
    name: p.name, description: p.name, parent_vdisk_guid: parent.guid, ...extra,
    pagecache_ratio: p.pagecache_ratio ?? parent.pagecache_ratio, cache_quota: p.cache_quota ?? parent.cache_quota ?? null,
  });
  await vdiskCheckupAfter(s, log, vd.guid, 'inline');
  return { vdisk_guid: vd.guid, name: p.name, backingdevice: devicename };
}

export const clone = defineTask({
  module,
  name: 'clone',
  summary: 'Clone a vDisk',
  params: z.object({ ...childParams, snapshot_id: snapshotId.nullable().optional() }).strict(),
  owner: onVdisk,
  async handler(p, { services: s, owner, deadline, log }) {
    const { storagedriver: host, volumeId } = owner;
    const vdisk = s.view.get('vdisk', owner.vdiskGuid);
    const target = targetOf(s, owner, p.storagerouter_guid);
    const devicename = cleanDevicename(p.name);
    checkNameFree(s, String(vdisk.vpool_guid), devicename);
    const snapshot = p.snapshot_id ?? (await host.driver.create_snapshot({
      volume_id: volumeId,
      snapshot_id: randomUUID(),
      metadata: Buffer.from(JSON.stringify({ label: '', is_consistent: false, timestamp: String(Math.floor(Date.now() / 1000)), is_automatic: true })),
    }));
    await waitInBackend(host, volumeId, snapshot, deadline);
    const cloneId = await s.voldrv(target.guid).create_clone({ target_path: devicename, parent_volume_id: volumeId, parent_snapshot_id: snapshot, volume_id: randomUUID() });
    return recordChild(s, target, cloneId, devicename, vdisk, p, { parentsnapshot: snapshot }, log);
  },
});

export const createFromTemplate = defineTask({
  module,
  name: 'create_from_template',
  summary: 'Create a vDisk from a template',
  params: z.object(childParams).strict(),
  owner: onVdisk,
  async handler(p, { services: s, owner, log }) {
    const { storagedriver: host, volumeId } = owner;
    const vdisk = s.view.get('vdisk', owner.vdiskGuid);
    if (!vdisk.is_vtemplate) throw new InvalidOperationError(`vDisk ${vdisk.guid} is not a template`, { vdisk_guid: vdisk.guid });
    const target = targetOf(s, owner, p.storagerouter_guid);
    const devicename = cleanDevicename(p.name);
    checkNameFree(s, String(vdisk.vpool_guid), devicename);
    // A template has one snapshot, read here at its owner; the target clones from it in the backend, on any node.
    const [snapshot] = host.driver.list_snapshots({ volume_id: volumeId });
    if (!snapshot) throw new InvalidOperationError(`template ${vdisk.guid} has no snapshot`, { vdisk_guid: vdisk.guid });
    const cloneId = await s.voldrv(target.guid).create_clone({ target_path: devicename, parent_volume_id: volumeId, parent_snapshot_id: snapshot, volume_id: randomUUID() });
    return recordChild(s, target, cloneId, devicename, vdisk, p, {}, log);
  },
});

export const setAsTemplate = defineTask({
  module,
  name: 'set_as_template',
  summary: 'Set a vDisk as template',
  params: z.object({ vdisk_guid: guid }).strict(),
  owner: onVdisk,
  async handler(_p, { services: s, owner }) {
    const vdisk = s.view.get('vdisk', owner.vdiskGuid);
    if (vdisk.is_vtemplate) return null;
    const clones = clonesOf(s, vdisk.guid);
    if (clones.length > 0) throw new ObjectStillHasChildrenError(`vDisk ${vdisk.guid} has ${clones.length} clone(s)`, { clones: clones.length });
    if (vdisk.parent_vdisk_guid) throw new InvalidOperationError(`vDisk ${vdisk.guid} is a clone; clones cannot become templates`, { vdisk_guid: vdisk.guid });
    await owner.storagedriver.driver.set_volume_as_template({ volume_id: owner.volumeId });
    await s.store.update('vdisk', vdisk.guid, (d) => (d.is_vtemplate = true));
    return null;
  },
});

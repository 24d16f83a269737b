import { mdsClient } from '../../mds/client.js';
import { mdsAddress } from '../../storagedriver/mds-model.js';
import { InvalidOperationError, InvalidSizeError } from '../../dataplane/errors.js';
import { NameInUseError, ObjectNotFoundError, RaceConditionError, UniqueConstraintError } from '../../errors.js';
import type { AgentServices } from '../../agent-services.js';
import type { ModelObject } from '../../model/schema.js';
import type { StorageDriverHost } from '../../storagedriver/host.js';
import { sleep } from '../../supervisors/backoff.js';

const MAX_SIZE = 64 * 2 ** 40;

/**
 * `clean_devicename` (spec §2.1): trim `/`, spaces to `_`, collapse `//`, keep only `/`, word characters, `-` and
 * `.`; `/<name>` when the last component is longer than 4 and ends in `.raw`, else `/<name>.raw`.
 */
export function cleanDevicename(name: string): string {
  let cleaned = name.replace(/^\/+|\/+$/g, '').replace(/ /g, '_');
  while (cleaned.includes('//')) cleaned = cleaned.replace(/\/\//g, '/');
  cleaned = cleaned.replace(/[^/\w\-.]/g, '');
  const last = cleaned.slice(cleaned.lastIndexOf('/') + 1);
  return last.length > 4 && last.endsWith('.raw') ? `/${cleaned}` : `/${cleaned}.raw`;
}

export function checkSize(size: number, clusterSize: number): void {
  if (size > MAX_SIZE) throw new InvalidSizeError(`size ${size} exceeds the maximum of 64 TiB`, { size });
  if (size <= 0 || size % clusterSize !== 0) throw new InvalidSizeError(`size ${size} is not a positive multiple of the cluster size ${clusterSize}`, { size, cluster_size: clusterSize });
}

export function checkNameFree(s: AgentServices, vpoolGuid: string, devicename: string): void {
  if (s.view.list('vdisk', { vpool_guid: vpoolGuid, devicename }).length > 0) throw new NameInUseError(devicename, String(s.view.get('vpool', vpoolGuid).name));
}

/**
 * Get-or-create of the vDisk of a volume (spec §3.2 step 2, §3.23): the task that made the volume and the data plane's
 * `volume_create` event may both get here; the volume id is unique in the model, so the second one updates instead.
 */
export async function upsertVdiskOfVolume(s: AgentServices, volumeId: string, onCreate: Record<string, unknown>, always: Record<string, unknown>): Promise<ModelObject> {
  for (let attempt = 0; attempt < 100; attempt++) {
    // The store's claim, not this agent's view: the other writer may be on another agent whose write is not here yet.
    const guid = s.view.list('vdisk', { volume_id: volumeId })[0]?.guid ?? (await s.store.holderOf('vdisk', 'volume_id', volumeId));
    try {
      if (!guid) return await s.store.create('vdisk', { ...onCreate, ...always, volume_id: volumeId });
      return await s.store.update('vdisk', guid, (d) => Object.assign(d, always));
    } catch (e) {
      // Lost the create to the other writer, or its create is claimed but not written yet: look again.
      if (!(e instanceof UniqueConstraintError) && !(e instanceof ObjectNotFoundError)) throw e;
      await sleep(20);
    }
  }
  throw new RaceConditionError(`vdisk of volume ${volumeId}`, 100);
}

/** Creates the model object of a volume that now exists on `sd`; if that fails the volume goes too (nothing half-done). */
export async function recordVdisk(s: AgentServices, sd: ModelObject, volumeId: string, devicename: string, props: Record<string, unknown>): Promise<ModelObject> {
  const driver = s.voldrv(sd.guid);
  try {
    const info = await driver.info_volume({ volume_id: volumeId });
    const onCreate = { size: info.volume_size, metadata: { lba_size: info.lba_size, cluster_multiplier: info.cluster_multiplier }, description: props.name };
    return await upsertVdiskOfVolume(s, volumeId, onCreate, { devicename, vpool_guid: sd.vpool_guid, storagedriver_guid: sd.guid, ...props });
  } catch (e) {
    await driver.unlink({ target_path: devicename }).catch(() => undefined);
    throw e;
  }
}

/** Waits until a snapshot is in the backend (spec §2.5), within the caller's deadline. */
export async function waitInBackend(host: StorageDriverHost, volumeId: string, snapshot: string, deadline: number): Promise<void> {
  while (!host.driver.is_volume_synced_up_to_snapshot({ volume_id: volumeId, snapshot_name: snapshot })) {
    if (Date.now() > deadline - 200) throw new InvalidOperationError(`snapshot ${snapshot} did not reach the backend in time`, { snapshot_id: snapshot });
    await sleep(50);
  }
}

export function clonesOf(s: AgentServices, vdiskGuid: string): ModelObject[] {
  return s.view.reverse('vdisk', vdiskGuid, 'child_vdisks');
}

/**
 * `clean_vdisk_from_model` (spec §2.2): its DTL target-domain and MDS junctions first, then the vDisk. The volume is
 * gone, so its tables on the MDS services go too (best effort: a service that does not answer keeps a stale table
 * that nothing reads).
 */
export async function removeVdiskFromModel(s: AgentServices, vdiskGuid: string): Promise<void> {
  const volumeId = s.view.find('vdisk', vdiskGuid)?.volume_id;
  for (const j of s.view.reverse('vdisk', vdiskGuid, 'domains_dtl')) await deleteIfThere(s, 'vdiskdomain', j.guid);
  for (const j of s.view.reverse('vdisk', vdiskGuid, 'mds_services')) {
    const mds = s.view.find('mdsservice', String(j.mds_service_guid));
    const address = mds ? mdsAddress(s.view, mds) : undefined;
    if (address && typeof volumeId === 'string') await mdsClient(address, s.nc, 5_000).remove_namespace(volumeId).catch(() => undefined);
    await deleteIfThere(s, 'mdsservicevdisk', j.guid);
  }
  await s.store.delete('vdisk', vdiskGuid);
}

async function deleteIfThere(s: AgentServices, type: string, guid: string): Promise<void> {
  await s.store.delete(type, guid).catch((e: unknown) => {
    if (!(e instanceof ObjectNotFoundError)) throw e;
  });
}

import { randomUUID } from 'node:crypto';
import { InvalidSizeError } from '../../dataplane/errors.js';
import { NotImplementedError, ObjectNotFoundError, OvsError } from '../../errors.js';
import type { ModelObject } from '../../model/schema.js';
import type { AgentServices } from '../../agent-services.js';
import type { StorageDriverHost } from '../../storagedriver/host.js';
import { sleep } from '../../supervisors/backoff.js';
import type { TaskContext } from '../context.js';
import type { Implementation } from '../implementation.js';

const MAX_SIZE = 64 * 2 ** 40;

export class NameInUseError extends OvsError {
  constructor(devicename: string, vpool: string) {
    super(`a vDisk with device name ${devicename} exists on vPool ${vpool}`, { type: 'NAME_IN_USE', details: { devicename, vpool } });
  }
}

export class HasClonesError extends OvsError {
  constructor(what: string, clones: number) {
    super(`${what} has ${clones} clone(s)`, { type: 'OBJECT_STILL_HAS_CHILDREN', details: { clones } });
  }
}

export class NoSuchSnapshotError extends OvsError {
  constructor(vdisk: string, timestamp: string) {
    super(`vDisk ${vdisk} has no snapshot with timestamp ${timestamp}`, { type: 'SNAPSHOT_NOT_FOUND', details: { vdisk_guid: vdisk, timestamp } });
  }
}

export class InvalidOperationError extends OvsError {
  constructor(message: string) {
    super(message, { type: 'INVALID_OPERATION' });
  }
}

/** `clean_devicename` (spec §2.1): spaces to `_`, only `[/\w\-.]`, always `/<name>.raw`. */
export function cleanDevicename(name: string): string {
  const cleaned = name.trim().replace(/ /g, '_').replace(/[^/\w\-.]/g, '');
  const base = cleaned.replace(/^\/+/, '');
  return `/${base.endsWith('.raw') ? base : `${base}.raw`}`;
}

interface Owned {
  vdisk: ModelObject;
  host: StorageDriverHost;
  volumeId: string;
}

async function hostOf(s: AgentServices, sdGuid: string): Promise<StorageDriverHost> {
  const host = await s.storagedrivers.host(sdGuid);
  if (!host) throw new NotImplementedError('vdisk', `StorageDriver ${sdGuid} is not served by this agent`);
  return host;
}

async function owned(s: AgentServices, vdiskGuid: string): Promise<Owned> {
  const vdisk = s.view.get('vdisk', vdiskGuid);
  return { vdisk, host: await hostOf(s, String(vdisk.storagedriver_guid)), volumeId: String(vdisk.volume_id) };
}

function checkSize(size: number, clusterSize: number): void {
  if (size > MAX_SIZE) throw new InvalidSizeError(`size ${size} exceeds the maximum of 64 TiB`);
  if (size <= 0 || size % clusterSize !== 0) throw new InvalidSizeError(`size ${size} is not a positive multiple of the cluster size ${clusterSize}`);
}

function checkNameFree(s: AgentServices, vpoolGuid: string, devicename: string): void {
  if (s.view.list('vdisk', { vpool_guid: vpoolGuid, devicename }).length > 0) throw new NameInUseError(devicename, String(s.view.get('vpool', vpoolGuid).name));
}

/** Creates the model object of a volume that now exists; if that fails the volume goes too (nothing half-done). */
async function recordVdisk(s: AgentServices, host: StorageDriverHost, volumeId: string, devicename: string, props: Record<string, unknown>): Promise<ModelObject> {
  const info = host.driver.info_volume({ volume_id: volumeId });
  try {
    return await s.store.create('vdisk', {
      devicename,
      volume_id: volumeId,
      size: info.volume_size,
      metadata: { lba_size: info.lba_size, cluster_multiplier: info.cluster_multiplier },
      vpool_guid: host.sd.vpool_guid,
      storagedriver_guid: host.sd.guid,
      ...props,
    });
  } catch (e) {
    await host.driver.unlink({ target_path: devicename }).catch(() => undefined);
    throw e;
  }
}

async function waitInBackend(host: StorageDriverHost, volumeId: string, snapshot: string, ctx: TaskContext): Promise<void> {
  while (!host.driver.is_volume_synced_up_to_snapshot({ volume_id: volumeId, snapshot_name: snapshot })) {
    if (Date.now() > ctx.deadline - 200) throw new InvalidOperationError(`snapshot ${snapshot} did not reach the backend in time`);
    await sleep(50);
  }
}

function snapshotMetadataOf(host: StorageDriverHost, volumeId: string, id: string): Record<string, unknown> {
  try {
    return JSON.parse(host.driver.info_snapshot({ volume_id: volumeId, snapshot_id: id }).metadata.toString('utf8') || '{}') as Record<string, unknown>;
  } catch {
    return {};
  }
}

function clonesOf(s: AgentServices, vdiskGuid: string): ModelObject[] {
  return s.view.reverse('vdisk', vdiskGuid, 'child_vdisks');
}

type P = Record<string, any>;

/** Handlers of the vDisk tasks phase 1 makes real; their names, parameters and modes are declared in the catalog. */
export const vdiskImplementations: Record<string, Implementation> = {
  'vdisk.create_new': {
    owner: { kind: 'storagedriver', param: 'storagedriver_guid' },
    async handler(p: P, { services: s }) {
      const host = await hostOf(s, p.storagedriver_guid);
      const devicename = cleanDevicename(String(p.volume_name));
      checkNameFree(s, String(host.sd.vpool_guid), devicename);
      checkSize(p.volume_size, host.driver.o.geometry.clusterSize);
      const volumeId = await host.driver.create_volume({ target_path: devicename, volume_size: p.volume_size, volume_id: randomUUID() });
      const vd = await recordVdisk(s, host, volumeId, devicename, { name: p.volume_name, description: p.volume_name, pagecache_ratio: p.pagecache_ratio ?? 1.0, cache_quota: p.cache_quota ?? null });
      return vd.guid;
    },
  },
  'vdisk.create_snapshot': {
    async handler(p: P, { services: s }) {
      const { host, volumeId } = await owned(s, p.vdisk_guid);
      const existing = host.driver.list_snapshots({ volume_id: volumeId });
      const last = existing[existing.length - 1];
      if (last && !host.driver.is_volume_synced_up_to_snapshot({ volume_id: volumeId, snapshot_name: last })) {
        throw new OvsError(`previous snapshot ${last} is not yet in the backend`, { type: 'PREVIOUS_SNAPSHOT_NOT_ON_BACKEND', retryable: true, details: { snapshot_id: last } });
      }
      return host.driver.create_snapshot({ volume_id: volumeId, snapshot_id: randomUUID(), metadata: Buffer.from(JSON.stringify(p.metadata)) });
    },
  },
  'vdisk.delete_snapshot': {
    async handler(p: P, { services: s }) {
      const { host, volumeId } = await owned(s, p.vdisk_guid);
      const clones = clonesOf(s, p.vdisk_guid).filter((c) => c.parentsnapshot === p.snapshot_id);
      if (clones.length > 0) throw new HasClonesError(`snapshot ${p.snapshot_id}`, clones.length);
      await host.driver.delete_snapshot({ volume_id: volumeId, snapshot_id: p.snapshot_id });
      return null;
    },
  },
  'vdisk.is_volume_synced_up_to_snapshot': {
    async handler(p: P, { services: s }) {
      const { host, volumeId } = await owned(s, p.vdisk_guid);
      return host.driver.is_volume_synced_up_to_snapshot({ volume_id: volumeId, snapshot_name: p.snapshot_id });
    },
  },
  'vdisk.is_volume_synced_up_to_tlog': {
    async handler(p: P, { services: s }) {
      const { host, volumeId } = await owned(s, p.vdisk_guid);
      return host.driver.is_volume_synced_up_to_tlog({ volume_id: volumeId, tlog_name: p.tlog_name });
    },
  },
  'vdisk.schedule_backend_sync': {
    async handler(p: P, { services: s }) {
      const { host, volumeId } = await owned(s, p.vdisk_guid);
      return host.driver.schedule_backend_sync({ volume_id: volumeId });
    },
  },
  'vdisk.rollback': {
    async handler(p: P, ctx) {
      const { host, volumeId } = await owned(ctx.services, p.vdisk_guid);
      const match = host.driver.list_snapshots({ volume_id: volumeId }).find((id) => String(snapshotMetadataOf(host, volumeId, id).timestamp) === String(p.timestamp));
      if (!match) throw new NoSuchSnapshotError(p.vdisk_guid, String(p.timestamp));
      await waitInBackend(host, volumeId, match, ctx);
      await host.driver.rollback_volume({ volume_id: volumeId, snapshot_id: match });
      return true;
    },
  },
  'vdisk.clone': {
    async handler(p: P, ctx) {
      const s = ctx.services;
      const { vdisk, host, volumeId } = await owned(s, p.vdisk_guid);
      if (p.storagerouter_guid && p.storagerouter_guid !== host.sd.storagerouter_guid) throw new NotImplementedError('vdisk.clone', 'cloning to another StorageRouter needs phase 2');
      const devicename = cleanDevicename(String(p.name));
      checkNameFree(s, String(vdisk.vpool_guid), devicename);
      let snapshot = p.snapshot_id as string | undefined;
      if (!snapshot) {
        snapshot = await host.driver.create_snapshot({ volume_id: volumeId, snapshot_id: randomUUID(), metadata: Buffer.from(JSON.stringify({ label: '', is_consistent: false, timestamp: String(Math.floor(Date.now() / 1000)), is_automatic: true })) });
      }
      await waitInBackend(host, volumeId, snapshot, ctx);
      const cloneId = await host.driver.create_clone({ target_path: devicename, parent_volume_id: volumeId, parent_snapshot_id: snapshot, volume_id: randomUUID() });
      await host.driver.schedule_backend_sync({ volume_id: cloneId }).catch(() => undefined);
      const vd = await recordVdisk(s, host, cloneId, devicename, {
        name: p.name, description: p.name, parent_vdisk_guid: vdisk.guid, parentsnapshot: snapshot,
        pagecache_ratio: p.pagecache_ratio ?? vdisk.pagecache_ratio, cache_quota: p.cache_quota ?? vdisk.cache_quota ?? null,
      });
      return { vdisk_guid: vd.guid, name: p.name, backingdevice: devicename };
    },
  },
  'vdisk.set_as_template': {
    async handler(p: P, { services: s }) {
      const { vdisk, host, volumeId } = await owned(s, p.vdisk_guid);
      if (vdisk.is_vtemplate) return null;
      const clones = clonesOf(s, vdisk.guid);
      if (clones.length > 0) throw new HasClonesError(`vDisk ${vdisk.guid}`, clones.length);
      if (vdisk.parent_vdisk_guid) throw new InvalidOperationError(`vDisk ${vdisk.guid} is a clone; clones cannot become templates`);
      await host.driver.set_volume_as_template({ volume_id: volumeId });
      await s.store.update('vdisk', vdisk.guid, (d) => (d.is_vtemplate = true));
      return null;
    },
  },
  'vdisk.create_from_template': {
    async handler(p: P, { services: s }) {
      const { vdisk, host, volumeId } = await owned(s, p.vdisk_guid);
      if (!vdisk.is_vtemplate) throw new InvalidOperationError(`vDisk ${vdisk.guid} is not a template`);
      if (p.storagerouter_guid && p.storagerouter_guid !== host.sd.storagerouter_guid) throw new NotImplementedError('vdisk.create_from_template', 'another StorageRouter needs phase 2');
      const devicename = cleanDevicename(String(p.name));
      checkNameFree(s, String(vdisk.vpool_guid), devicename);
      const cloneId = await host.driver.create_clone_from_template({ target_path: devicename, parent_volume_id: volumeId, volume_id: randomUUID() });
      await host.driver.schedule_backend_sync({ volume_id: cloneId }).catch(() => undefined);
      const vd = await recordVdisk(s, host, cloneId, devicename, {
        name: p.name, description: p.name, parent_vdisk_guid: vdisk.guid,
        pagecache_ratio: p.pagecache_ratio ?? vdisk.pagecache_ratio, cache_quota: p.cache_quota ?? vdisk.cache_quota ?? null,
      });
      return { vdisk_guid: vd.guid, name: p.name, backingdevice: devicename };
    },
  },
  'vdisk.extend': {
    async handler(p: P, { services: s }) {
      const { vdisk, host, volumeId } = await owned(s, p.vdisk_guid);
      checkSize(p.volume_size, host.driver.o.geometry.clusterSize);
      if (p.volume_size < Number(vdisk.size)) throw new InvalidSizeError(`vDisk ${vdisk.guid} is ${String(vdisk.size)} bytes; shrinking is not allowed`);
      await host.driver.truncate({ object_id: volumeId, new_size: p.volume_size });
      await s.store.update('vdisk', vdisk.guid, (d) => (d.size = p.volume_size));
      return null;
    },
  },
  'vdisk.delete': {
    async handler(p: P, { services: s }) {
      const { vdisk, host } = await owned(s, p.vdisk_guid);
      const clones = clonesOf(s, vdisk.guid);
      if (clones.length > 0) throw new HasClonesError(`vDisk ${vdisk.guid}`, clones.length);
      await host.driver.unlink({ target_path: String(vdisk.devicename) });
      // The data plane's volume_delete event (delete_from_voldrv) may have removed it already.
      await s.store.delete('vdisk', vdisk.guid).catch((e: unknown) => {
        if (!(e instanceof ObjectNotFoundError)) throw e;
      });
      return null;
    },
  },
  'vdisk.list_volumes': {
    async handler(p: P, { services: s }) {
      const sds = s.view.list('storagedriver', p.vpool_guid ? { vpool_guid: p.vpool_guid } : {});
      if (p.vpool_guid) s.view.get('vpool', p.vpool_guid);
      const out: string[] = [];
      for (const sd of sds) {
        const host = await s.storagedrivers.host(sd.guid);
        // Phase 1: volumes of StorageDrivers served by this agent; several nodes arrive with phase 2.
        if (host) out.push(...host.driver.list_volumes({ node_id: String(sd.storagedriver_id) }));
      }
      return out;
    },
  },
};

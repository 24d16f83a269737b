import { OvsError, NotImplementedError } from '../../errors.js';
import type { AgentServices } from '../../agent-services.js';
import type { Implementation } from '../implementation.js';

const MiB = 1024 * 1024;
const TLOG_MULTIPLIER: Record<number, number> = { 4: 16, 8: 8, 16: 4, 32: 2, 64: 1, 128: 1 };

type P = Record<string, any>;

async function owned(s: AgentServices, vdiskGuid: string) {
  const vdisk = s.view.get('vdisk', vdiskGuid);
  const host = await s.storagedrivers.host(String(vdisk.storagedriver_guid));
  if (!host) throw new OvsError(`StorageDriver of vDisk ${vdiskGuid} is not served here`, { type: 'NOT_AVAILABLE', retryable: true });
  return { vdisk, host, volumeId: String(vdisk.volume_id) };
}

/** vDisk configuration, management tasks and the data-plane event handlers (spec §3.15, §3.18–3.19, §3.22–3.26). */
export const vdiskAdminImplementations: Record<string, Implementation> = {
  'vdisk.restart': {
    async handler(p: P, { services: s }) {
      const vdisk = s.view.get('vdisk', p.vdisk_guid);
      const host = await s.storagedrivers.host(String(vdisk.storagedriver_guid));
      if (!host) throw new OvsError('StorageDriver not served here', { type: 'NOT_AVAILABLE', retryable: true });
      const running = host.driver.running(String(vdisk.volume_id));
      if (running && !running.halted) throw new OvsError(`vDisk ${vdisk.guid} is running`, { type: 'VOLUME_RUNNING', details: { vdisk_guid: vdisk.guid } });
      await host.driver.restart_object({ object_id: String(vdisk.volume_id), force_restart: p.force });
      return null;
    },
  },
  'vdisk.get_config_params': {
    async handler(p: P, { services: s }) {
      const { vdisk, host, volumeId } = await owned(s, p.vdisk_guid);
      const info = host.driver.info_volume({ volume_id: volumeId });
      const clusterSize = info.cluster_multiplier * info.lba_size;
      const scoSize = (info.sco_multiplier * clusterSize) / MiB;
      const configured = (vdisk.metadata as { write_buffer?: number }).write_buffer;
      return {
        sco_size: scoSize,
        dtl_mode: 'no_sync',
        dtl_target: [],
        cache_quota: vdisk.cache_quota ?? null,
        write_buffer: configured ?? Math.round(info.tlog_multiplier * scoSize * 1.5),
        pagecache_ratio: vdisk.pagecache_ratio,
      };
    },
  },
  'vdisk.set_config_params': {
    async handler(p: P, { services: s }) {
      const { vdisk, host, volumeId } = await owned(s, p.vdisk_guid);
      const c = p.new_config_params as Record<string, any>;
      if (c.dtl_mode !== undefined && c.dtl_mode !== 'no_sync') throw new NotImplementedError('vdisk.set_config_params', 'a DTL needs phase 2 (several agents)');
      if ((c.dtl_target ?? []).length > 0) throw new OvsError('DTL targets need a DTL mode other than no_sync', { type: 'INVALID_DTL_SETTINGS' });
      if (c.sco_size !== undefined) {
        const clusterSize = host.driver.info_volume({ volume_id: volumeId }).cluster_multiplier * 512;
        await host.driver.set_sco_multiplier({ volume_id: volumeId, sco_multiplier: (c.sco_size * MiB) / clusterSize });
        await host.driver.set_tlog_multiplier({ volume_id: volumeId, tlog_multiplier: TLOG_MULTIPLIER[c.sco_size] ?? null });
      }
      await s.store.update('vdisk', vdisk.guid, (d) => {
        if (c.pagecache_ratio !== undefined) d.pagecache_ratio = c.pagecache_ratio;
        if (c.cache_quota !== undefined) d.cache_quota = c.cache_quota;
        if (c.write_buffer !== undefined) d.metadata = { ...(d.metadata as object), write_buffer: c.write_buffer };
      });
      return null;
    },
  },
  'vdisk.delete_from_voldrv': {
    async handler(p: P, { services: s }) {
      for (const vd of s.view.list('vdisk', { volume_id: p.volume_id })) await s.store.delete('vdisk', vd.guid).catch(() => undefined);
      return null;
    },
  },
  'vdisk.resize_from_voldrv': {
    async handler(p: P, { services: s }) {
      const vd = s.view.list('vdisk', { volume_id: p.volume_id })[0];
      // Phase 1 creates vDisks through the API (and sync_with_reality); the event only brings the size.
      if (vd && vd.size !== p.volume_size) await s.store.update('vdisk', vd.guid, (d) => (d.size = p.volume_size));
      return null;
    },
  },
  'vdisk.rename_from_voldrv': {
    async handler(p: P, { services: s }) {
      const norm = (x: string) => `/${x.replace(/^\/+|\/+$/g, '')}/`;
      const [from, to] = [norm(p.old_path), norm(p.new_path)];
      const sd = s.view.list('storagedriver', { storagedriver_id: p.storagedriver_id })[0];
      if (!sd) return null;
      for (const vd of s.view.list('vdisk', { vpool_guid: sd.vpool_guid })) {
        const dev = String(vd.devicename);
        if (dev.startsWith(from)) await s.store.update('vdisk', vd.guid, (d) => (d.devicename = to + dev.slice(from.length)));
      }
      return null;
    },
  },
  'vdisk.sync_with_reality': {
    async handler(p: P, { services: s }) {
      const sds = s.view.list('storagedriver', p.vpool_guid ? { vpool_guid: p.vpool_guid } : {});
      let created = 0;
      let removed = 0;
      for (const sd of sds) {
        const host = await s.storagedrivers.host(sd.guid);
        if (!host) continue; // phase 1: the StorageDrivers this agent serves
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
  },
};

/** Fan-outs over several vDisks (each call goes to that vDisk's actor); per-vDisk outcomes, never one failure for all. */
export const vdiskFanOutImplementations: Record<string, Implementation> = {
  'vdisk.create_snapshots': {
    async handler(p: P, { services: s }) {
      const out: Record<string, [boolean, string]> = {};
      await Promise.all((p.vdisk_guids as string[]).map(async (g) => {
        try {
          out[g] = [true, String(await s.call('vdisk.create_snapshot', { vdisk_guid: g, metadata: p.metadata }))];
        } catch (e) {
          out[g] = [false, (e as Error).message];
        }
      }));
      return out;
    },
  },
  'vdisk.delete_snapshots': {
    async handler(p: P, { services: s }) {
      const out: Record<string, unknown> = {};
      for (const [g, value] of Object.entries(p.snapshot_mapping as Record<string, string | string[]>)) {
        const ids = Array.isArray(value) ? value : [value];
        const results: Record<string, [boolean, string]> = {};
        for (const id of ids) {
          try {
            await s.call('vdisk.delete_snapshot', { vdisk_guid: g, snapshot_id: id });
            results[id] = [true, id];
          } catch (e) {
            results[id] = [false, (e as Error).message];
          }
        }
        const success = Object.values(results).every(([ok]) => ok);
        // A single id (not a list) asks for the legacy result: [ok, id or message] of that snapshot.
        out[g] = Array.isArray(value) ? { success, error: success ? null : 'one or more snapshots could not be deleted', results } : results[value];
      }
      return out;
    },
  },
};

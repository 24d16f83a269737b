import { z } from 'zod';
import { InvalidDtlSettingsError, NotImplementedError } from '../../errors.js';
import type { ModelObject } from '../../model/schema.js';
import { defineTask } from '../define.js';
import { guid } from '../params.js';
import { vdiskConfigParams } from '../shapes.js';

const MiB = 1024 * 1024;
const TLOG_MULTIPLIER: Record<number, number> = { 4: 16, 8: 8, 16: 4, 32: 2, 64: 1, 128: 1 };
const module = 'vdisk';
const onVdisk = { kind: 'vdisk', param: 'vdisk_guid' } as const;

interface CacheQuota {
  fragment: number | null;
  block: number | null;
}

/** Spec §3.18: the vDisk's own quota, else the vPool's caching info for the vDisk's StorageRouter (values may be null). */
function cacheQuotaOf(vdisk: ModelObject, vpool: ModelObject, storagerouterGuid: string): CacheQuota {
  const own = vdisk.cache_quota as Partial<CacheQuota> | null | undefined;
  if (own) return { fragment: own.fragment ?? null, block: own.block ?? null };
  const caching = ((vpool.metadata as { caching_info?: Record<string, { fragment_cache?: { quota?: number | null }; block_cache?: { quota?: number | null } }> } | undefined)?.caching_info ?? {})[storagerouterGuid];
  return { fragment: caching?.fragment_cache?.quota ?? null, block: caching?.block_cache?.quota ?? null };
}

export const getConfigParams = defineTask({
  module,
  name: 'get_config_params',
  summary: 'Retrieve the configuration parameters for the given vDisk from the storagedriver',
  params: z.object({ vdisk_guid: guid }).strict(),
  owner: onVdisk,
  async handler(_p, { services: s, owner: { storagedriver: host, volumeId, vdiskGuid } }) {
    const vdisk = s.view.get('vdisk', vdiskGuid);
    const info = host.driver.info_volume({ volume_id: volumeId });
    const clusterSize = info.cluster_multiplier * info.lba_size;
    const scoSize = (info.sco_multiplier * clusterSize) / MiB;
    const configured = (vdisk.metadata as { write_buffer?: number }).write_buffer;
    return {
      sco_size: scoSize,
      dtl_mode: 'no_sync',
      dtl_target: [],
      cache_quota: cacheQuotaOf(vdisk, s.view.get('vpool', String(vdisk.vpool_guid)), String(host.sd.storagerouter_guid)),
      write_buffer: configured ?? Math.round(info.tlog_multiplier * scoSize * 1.5),
      pagecache_ratio: vdisk.pagecache_ratio,
    };
  },
});

export const setConfigParams = defineTask({
  module,
  name: 'set_config_params',
  summary: 'Sets configuration parameters for a given vDisk',
  params: z.object({ vdisk_guid: guid, new_config_params: vdiskConfigParams }).strict(),
  owner: onVdisk,
  async handler(p, { services: s, owner: { storagedriver: { driver }, volumeId, vdiskGuid } }) {
    const c = p.new_config_params;
    // Bad input first, whatever the DTL can do yet: unknown target domains, targets without a DTL.
    for (const domain of c.dtl_target ?? []) s.view.get('domain', domain);
    if ((c.dtl_target ?? []).length > 0 && (c.dtl_mode ?? 'no_sync') === 'no_sync') throw new InvalidDtlSettingsError('DTL targets need a DTL mode other than no_sync', { dtl_mode: 'no_sync', dtl_target: c.dtl_target });
    if (c.dtl_mode !== undefined && c.dtl_mode !== 'no_sync') throw new NotImplementedError('vdisk.set_config_params', 'volumes do not write through the DTL yet (the DTL issue)');
    if (c.sco_size !== undefined) {
      const clusterSize = driver.info_volume({ volume_id: volumeId }).cluster_multiplier * 512;
      await driver.set_sco_multiplier({ volume_id: volumeId, sco_multiplier: (c.sco_size * MiB) / clusterSize });
      await driver.set_tlog_multiplier({ volume_id: volumeId, tlog_multiplier: TLOG_MULTIPLIER[c.sco_size] ?? null });
    }
    await s.store.update('vdisk', vdiskGuid, (d) => {
      if (c.pagecache_ratio !== undefined) d.pagecache_ratio = c.pagecache_ratio;
      if (c.cache_quota !== undefined) d.cache_quota = c.cache_quota;
      if (c.write_buffer !== undefined) d.metadata = { ...(d.metadata as object), write_buffer: c.write_buffer };
    });
    return null;
  },
});

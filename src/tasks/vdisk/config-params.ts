import { z } from 'zod';
import { asOvsError, ConfigUpdateError, InvalidDtlSettingsError } from '../../errors.js';
import type { ModelObject } from '../../model/schema.js';
import { toFrameworkMode } from '../../policies/dtl-mode.js';
import { targetDomainsOf } from '../../storagedriver/dtl-model.js';
import { defineTask } from '../define.js';
import { guid } from '../params.js';
import { vdiskConfigParams } from '../shapes.js';
import { applyDtlParams } from './dtl-params.js';

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
    const dtl = host.driver.get_dtl_config({ volume_id: volumeId });
    return {
      sco_size: scoSize,
      dtl_mode: toFrameworkMode(dtl?.mode),
      dtl_target: dtl ? targetDomainsOf(s.view, vdiskGuid) : [],
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
  async handler(p, { services: s, owner, log }) {
    const { storagedriver: { driver }, volumeId, vdiskGuid } = owner;
    const c = p.new_config_params;
    // Bad input first, before anything changes: unknown target domains, targets without a DTL.
    for (const domain of c.dtl_target ?? []) s.view.get('domain', domain);
    if ((c.dtl_target ?? []).length > 0 && (c.dtl_mode ?? 'no_sync') === 'no_sync') throw new InvalidDtlSettingsError('DTL targets need a DTL mode other than no_sync', { dtl_mode: 'no_sync', dtl_target: c.dtl_target });
    const problems: string[] = [];
    const attempt = async (what: string, work: () => Promise<void>): Promise<boolean> => {
      try {
        await work();
        return true;
      } catch (e) {
        log.error({ err: e, vdisk_guid: vdiskGuid }, `set_config_params: ${what} failed`);
        problems.push(`${what}: ${asOvsError(e).message}`);
        return false;
      }
    };
    if (c.sco_size !== undefined) {
      const scoSize = c.sco_size;
      await attempt('sco_size', async () => {
        const clusterSize = driver.info_volume({ volume_id: volumeId }).cluster_multiplier * 512;
        await driver.set_sco_multiplier({ volume_id: volumeId, sco_multiplier: (scoSize * MiB) / clusterSize });
        await driver.set_tlog_multiplier({ volume_id: volumeId, tlog_multiplier: TLOG_MULTIPLIER[scoSize] ?? null });
      });
    }
    if (c.dtl_mode !== undefined) problems.push(...(await applyDtlParams(s, owner, c.dtl_mode, c.dtl_target ?? [], problems.length > 0, log)));
    await attempt('write_buffer, pagecache_ratio, cache_quota', async () => {
      await s.store.update('vdisk', vdiskGuid, (d) => {
        if (c.pagecache_ratio !== undefined) d.pagecache_ratio = c.pagecache_ratio;
        if (c.cache_quota !== undefined) d.cache_quota = c.cache_quota;
        if (c.write_buffer !== undefined) d.metadata = { ...(d.metadata as object), write_buffer: c.write_buffer };
      });
    });
    if (problems.length > 0) throw new ConfigUpdateError(vdiskGuid, problems);
    return null;
  },
});

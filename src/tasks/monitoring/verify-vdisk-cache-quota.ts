import { z } from 'zod';
import type { AgentServices } from '../../agent-services.js';
import type { ModelObject } from '../../model/schema.js';
import { assessCacheQuota, type CacheQuotaReport, type Quotas, type QuotaStoragedriver, type QuotaStoragerouter, type QuotaVdisk } from '../../policies/cache-quota.js';
import { defineTask } from '../define.js';

type CachingInfo = Record<string, { block_cache?: { quota?: number | null }; fragment_cache?: { quota?: number | null } }>;

export interface VerifyCacheQuotaResult extends CacheQuotaReport {
  checked_vdisks: number;
  /** vDisks whose volume driver could not be asked (their use counts as unknown). */
  unreachable_vdisks: string[];
}

function defaultQuota(vpool: ModelObject | undefined, srGuid: string): Quotas {
  const caching = ((vpool?.metadata as { caching_info?: CachingInfo } | undefined)?.caching_info ?? {})[srGuid];
  return { block: caching?.block_cache?.quota ?? null, fragment: caching?.fragment_cache?.quota ?? null };
}

/** Cache capacity of a StorageRouter: its WRITE partitions, where the volume drivers keep their SCO caches. */
function cacheCapacity(s: AgentServices, sr: ModelObject): number {
  let bytes = 0;
  for (const disk of s.view.reverse('storagerouter', sr.guid, 'disks')) {
    for (const p of s.view.reverse('disk', disk.guid, 'partitions')) {
      if (((p.roles as string[] | undefined) ?? []).includes('WRITE')) bytes += typeof p.size === 'number' ? p.size : 0;
    }
  }
  return bytes;
}

async function vdisksOf(s: AgentServices, sd: ModelObject, unreachable: string[]): Promise<QuotaVdisk[]> {
  const api = s.voldrv(sd.guid);
  return Promise.all(
    s.view.list('vdisk', { storagedriver_guid: sd.guid }).map(async (vd) => {
      // The SCO cache keeps every cluster a volume holds (nothing is evicted), so its footprint is its fragment-cache
      // use; the read cache is shared per process and not reported per volume.
      const info = typeof vd.volume_id === 'string' ? await api.info_volume({ volume_id: vd.volume_id }).catch(() => null) : null;
      if (info === null) unreachable.push(vd.guid);
      return {
        guid: vd.guid,
        name: typeof vd.name === 'string' ? vd.name : vd.guid,
        quota: (vd.cache_quota as Quotas | null | undefined) ?? null,
        used: { block: null, fragment: info?.footprint ?? null },
      };
    }),
  );
}

export const verifyVdiskCacheQuota = defineTask({
  module: 'monitoring',
  name: 'verify_vdisk_cache_quota',
  summary: 'Validates whether the caching quota is reaching its limits or has surpassed it',
  params: z.object({}).strict(),
  owner: { kind: 'cluster' },
  ensureSingle: { mode: 'DEFAULT' },
  async handler(_p, { services: s, log }): Promise<VerifyCacheQuotaResult> {
    const unreachable: string[] = [];
    const storagedrivers: QuotaStoragedriver[] = [];
    for (const sd of s.view.list('storagedriver')) {
      const srGuid = String(sd.storagerouter_guid);
      storagedrivers.push({
        guid: sd.guid,
        storagerouter_guid: srGuid,
        default_quota: defaultQuota(s.view.find('vpool', String(sd.vpool_guid)), srGuid),
        vdisks: await vdisksOf(s, sd, unreachable),
      });
    }
    const storagerouters: QuotaStoragerouter[] = s.view.list('storagerouter').map((sr) => ({ guid: sr.guid, name: typeof sr.name === 'string' ? sr.name : sr.guid, capacity: cacheCapacity(s, sr) }));
    const report = assessCacheQuota(storagerouters, storagedrivers);
    for (const w of report.warnings) {
      if (w.level === 'error') log.error(w.message);
      else log.warn(w.message);
    }
    return { ...report, checked_vdisks: storagedrivers.reduce((n, sd) => n + sd.vdisks.length, 0), unreachable_vdisks: unreachable };
  },
});

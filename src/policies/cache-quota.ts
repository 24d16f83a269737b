export const CACHE_TYPES = ['block', 'fragment'] as const;
export type CacheType = (typeof CACHE_TYPES)[number];
export type Quotas = Partial<Record<CacheType, number | null>>;

export interface QuotaVdisk {
  guid: string;
  name: string;
  /** The vDisk's own quotas (`vdisk.cache_quota`); a missing or null entry falls back to the StorageDriver's default. */
  quota: Quotas | null;
  /** Bytes the vDisk holds in each cache as its volume driver reports them; null or missing: not known. */
  used: Quotas;
}

export interface QuotaStoragedriver {
  guid: string;
  storagerouter_guid: string;
  /** The vPool's per-StorageRouter quotas (`metadata.caching_info[sr].{block,fragment}_cache.quota`). */
  default_quota: Quotas;
  vdisks: QuotaVdisk[];
}

export interface QuotaStoragerouter {
  guid: string;
  name: string;
  /** Bytes the StorageRouter has for caches (its WRITE partitions). */
  capacity: number;
}

export interface CacheAllocation {
  storagerouter_guid: string;
  cache: CacheType;
  capacity: number;
  requested: number;
  /** requested / capacity × 100; null when the StorageRouter has no cache capacity. */
  percentage: number | null;
}

export interface QuotaOverrun {
  vdisk_guid: string;
  cache: CacheType;
  quota: number;
  used: number;
}

export interface CacheQuotaReport {
  allocations: CacheAllocation[];
  over_quota: QuotaOverrun[];
  /** `OVS_WARNING: ...` lines (monitoring scrapes the prefix), errors for over-allocation. */
  warnings: Array<{ level: 'warning' | 'error'; message: string }>;
}

const WARN_PERCENT = 70;
const OVER_PERCENT = 100;

/**
 * Spec §6.1 against the StorageRouter's own cache capacity: per StorageRouter and cache type the quotas of its
 * vDisks (own, else the default, else 0) add up to what is requested; above 70 % is a warning, above 100 %
 * over-allocation. Fixes of the original: the percentage is a real division (its integer division hid everything
 * below 100 %), and a StorageRouter without capacity yields no percentage instead of a division by zero. Also
 * reports each vDisk whose known use exceeds its quota.
 */
export function assessCacheQuota(storagerouters: readonly QuotaStoragerouter[], storagedrivers: readonly QuotaStoragedriver[]): CacheQuotaReport {
  const report: CacheQuotaReport = { allocations: [], over_quota: [], warnings: [] };
  for (const sr of storagerouters) {
    const sds = storagedrivers.filter((sd) => sd.storagerouter_guid === sr.guid);
    if (sds.length === 0) continue;
    for (const cache of CACHE_TYPES) {
      let requested = 0;
      for (const sd of sds) {
        for (const vd of sd.vdisks) {
          const quota = quotaOf(vd, sd, cache);
          requested += quota;
          const used = vd.used[cache];
          if (quota > 0 && typeof used === 'number' && used > quota) {
            report.over_quota.push({ vdisk_guid: vd.guid, cache, quota, used });
            report.warnings.push({ level: 'warning', message: `OVS_WARNING: vDisk ${vd.name} uses ${used} B of its ${cache} cache quota of ${quota} B` });
          }
        }
      }
      const percentage = sr.capacity > 0 ? (requested / sr.capacity) * 100 : null;
      report.allocations.push({ storagerouter_guid: sr.guid, cache, capacity: sr.capacity, requested, percentage });
      if (percentage === null) continue;
      if (percentage > OVER_PERCENT) {
        report.warnings.push({ level: 'error', message: `OVS_WARNING: Over-allocation for vDisk caching quota on StorageRouter ${sr.name}: ${cache} cache quotas ask ${requested} B of ${sr.capacity} B (${percentage.toFixed(1)}%)` });
      } else if (percentage > WARN_PERCENT) {
        report.warnings.push({ level: 'warning', message: `OVS_WARNING: vDisk caching quota on StorageRouter ${sr.name} for the ${cache} cache is at ${percentage.toFixed(1)}%` });
      }
    }
  }
  return report;
}

function quotaOf(vd: QuotaVdisk, sd: QuotaStoragedriver, cache: CacheType): number {
  const own = vd.quota?.[cache];
  if (typeof own === 'number') return own;
  const fallback = sd.default_quota[cache];
  return typeof fallback === 'number' ? fallback : 0;
}

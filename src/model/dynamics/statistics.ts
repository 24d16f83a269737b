import { sumIoStatistics, type IoStatistics } from '../../dataplane/volume/io-statistics.js';
import { extractStatistics } from '../../stats/extract.js';
import type { RateSampler } from '../../stats/rate-sampler.js';
import type { VoldrvApi } from '../../storagedriver/voldrv-api.js';
import type { DynamicDef, ModelObject, ModelReader } from '../schema.js';
import { within } from './within.js';

/** How long one volume driver may take to give its counters (the original asked with a 2 s timeout). */
export const STATISTICS_TIMEOUT_MS = 2_000;
/** The original's cache lifetime of `statistics`. */
const STATISTICS_TTL_MS = 4_000;

export type Statistics = Record<string, number>;

/**
 * `statistics` of vDisks, StorageDrivers, StorageRouters and vPools (model.md §3.14): the volume drivers' I/O counters
 * extracted, with `_ps` rates from `sampler`. A vDisk's come from its volume at the owning StorageDriver, a
 * StorageDriver's from its node; a StorageRouter's and a vPool's are the sums over their StorageDrivers. A driver that
 * does not answer makes the field null (a partial sum would read as counters going down and then jumping up).
 */
export function statisticsDynamics(
  voldrv: (storagedriverGuid: string) => VoldrvApi,
  sampler: RateSampler,
  timeoutMs = STATISTICS_TIMEOUT_MS,
): Record<'vdisk' | 'storagedriver' | 'storagerouter' | 'vpool', Record<string, DynamicDef>> {
  const ask = (sdGuid: string, call: (api: VoldrvApi) => Promise<IoStatistics>): Promise<IoStatistics | null> =>
    within(Promise.resolve().then(() => call(voldrv(sdGuid))), timeoutMs, null);
  const nodeCounters = (sd: ModelObject) => ask(sd.guid, (api) => api.statistics_node({}));
  const summed = async (key: string, sds: readonly ModelObject[]): Promise<Statistics | null> => {
    const counters = await Promise.all(sds.map(nodeCounters));
    if (counters.some((c) => c === null)) return null;
    return sampler.sample(key, extractStatistics(sumIoStatistics(counters as IoStatistics[])));
  };
  const field = (compute: (o: ModelObject, r: ModelReader) => Promise<Statistics | null>): Record<string, DynamicDef> => ({
    statistics: { ttlMs: STATISTICS_TTL_MS, compute },
  });
  return {
    vdisk: field(async (vd) => {
      if (typeof vd.storagedriver_guid !== 'string') return null;
      const c = await ask(vd.storagedriver_guid, (api) => api.statistics_volume({ volume_id: String(vd.volume_id) }));
      return c === null ? null : sampler.sample(`vdisk.${vd.guid}`, extractStatistics(c));
    }),
    storagedriver: field((sd) => summed(`storagedriver.${sd.guid}`, [sd])),
    storagerouter: field((sr, r) => summed(`storagerouter.${sr.guid}`, r.list('storagedriver', { storagerouter_guid: sr.guid }))),
    vpool: field((vp, r) => summed(`vpool.${vp.guid}`, r.list('storagedriver', { vpool_guid: vp.guid }))),
  };
}

import { sumIoStatistics, type IoStatistics } from '../dataplane/volume/io-statistics.js';
import { within } from '../model/dynamics/within.js';
import type { ModelObject, ModelReader } from '../model/schema.js';
import type { VoldrvApi } from '../storagedriver/voldrv-api.js';
import { extractStatistics } from './extract.js';
import { RateSampler } from './rate-sampler.js';

/** How long one StorageDriver's counters may take to arrive (a node that is down must not hold a whole run). */
export const STATISTICS_READ_TIMEOUT_MS = 3_000;

export interface Figures {
  /** The statistics dict (model.md §3.14) with rates; counters of StorageDrivers that did not answer are left out. */
  statistics: Record<string, number>;
  /** StorageDrivers whose counters did not arrive. */
  unanswered: string[];
}

/**
 * StorageRouter and vPool statistics from the counters of their StorageDrivers' volume drivers, each asked at its
 * node (`statistics_node`). Keeps the previous sample per object for the `_ps` rates, like the original's cache.
 */
export class ClusterStatistics {
  private readonly sampler: RateSampler;

  constructor(
    private readonly reader: ModelReader,
    private readonly voldrv: (storagedriverGuid: string) => VoldrvApi,
    nowS: () => number = () => Date.now() / 1000,
    private readonly timeoutMs = STATISTICS_READ_TIMEOUT_MS,
  ) {
    // Runs may be further apart than a model read's keep time; a rate over a long interval is still a rate.
    this.sampler = new RateSampler(nowS, Infinity);
  }

  ofStorageRouter(sr: ModelObject): Promise<Figures> {
    return this.figures(`storagerouter.${sr.guid}`, this.reader.list('storagedriver', { storagerouter_guid: sr.guid }));
  }

  ofVpool(vpool: ModelObject): Promise<Figures> {
    return this.figures(`vpool.${vpool.guid}`, this.reader.list('storagedriver', { vpool_guid: vpool.guid }));
  }

  private async figures(key: string, storagedrivers: readonly ModelObject[]): Promise<Figures> {
    const unanswered: string[] = [];
    const counters = await Promise.all(storagedrivers.map(async (sd) => {
      const c = await this.counters(sd.guid);
      if (c === null) unanswered.push(sd.guid);
      return c;
    }));
    const values = extractStatistics(sumIoStatistics(counters.filter((c): c is IoStatistics => c !== null)));
    return { statistics: this.sampler.sample(key, values), unanswered: unanswered.sort() };
  }

  private counters(storagedriverGuid: string): Promise<IoStatistics | null> {
    return within(this.voldrv(storagedriverGuid).statistics_node({}), this.timeoutMs, null);
  }
}

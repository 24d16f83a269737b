import { LRUCache } from 'lru-cache';
import { withRates, type Sample } from './extract.js';

/** How long a sample stays the base of the next rate (the original kept it for 10 × the 4 s cache lifetime). */
export const PREVIOUS_SAMPLE_KEEP_S = 40;

type Previous = Sample & { rates: Record<string, number> };

/**
 * Adds `timestamp` and `<key>_ps` rates to an object's statistics (model.md §3.14) against the last sample taken of
 * the same object: rate = max(0, Δ / seconds), so a counter reset (a volume restarted or moved) reads 0, as does a
 * first read or one whose previous sample is older than `keepS`.
 */
export class RateSampler {
  private readonly previous = new LRUCache<string, Previous>({ max: 100_000 });

  constructor(private readonly nowS: () => number = () => Date.now() / 1000, private readonly keepS = PREVIOUS_SAMPLE_KEEP_S) {}

  sample(key: string, values: Record<string, number>): Record<string, number> {
    const current = { values, timestamp: this.nowS() };
    const before = this.previous.get(key);
    const usable = before && current.timestamp - before.timestamp <= this.keepS ? before : undefined;
    const { values: out, rates } = withRates(current, usable);
    this.previous.set(key, { ...current, rates });
    return out;
  }
}

import { totalmem } from 'node:os';

/**
 * The read cache of a process: whole clusters keyed by (volume, cluster address), filled by writes (after they land)
 * and by reads, evicted with CLOCK. Volumes write their SCOs with O_DIRECT, so the page cache no longer holds what
 * was just written; this holds it instead, in memory that is allocated once and then reused in place.
 */
export class ClusterCache {
  private readonly slab: Buffer;
  private readonly ownerView: Int32Array;
  private readonly ownerCa: Float64Array;
  private readonly referenced: Uint8Array;
  private readonly views: Array<CacheView | undefined> = [];
  private hand = 0;

  constructor(readonly clusterSize: number, readonly capacity: number) {
    this.slab = Buffer.allocUnsafeSlow(clusterSize * capacity);
    this.ownerView = new Int32Array(capacity).fill(-1);
    this.ownerCa = new Float64Array(capacity);
    this.referenced = new Uint8Array(capacity);
  }

  /** A volume's part of the cache; drop it with CacheView.close(). */
  view(): CacheView {
    let id = this.views.indexOf(undefined);
    if (id < 0) id = this.views.push(undefined) - 1;
    const v = new CacheView(this, id);
    this.views[id] = v;
    return v;
  }

  /** @internal */
  slot(i: number): Buffer {
    return this.slab.subarray(i * this.clusterSize, (i + 1) * this.clusterSize);
  }

  /** @internal copies `length` bytes into consecutive slots from `first` */
  store(first: number, from: Buffer, at: number, length: number): void {
    from.copy(this.slab, first * this.clusterSize, at, at + length);
  }

  /** @internal copies `count` consecutive slots from `first` into `into` at `at` */
  load(first: number, count: number, into: Buffer, at: number): void {
    this.slab.copy(into, at, first * this.clusterSize, (first + count) * this.clusterSize);
  }

  /** @internal marks a slot used */
  touch(i: number): void {
    this.referenced[i] = 1;
  }

  /** @internal a slot for (view, ca), evicting the first unreferenced one the clock hand finds */
  claim(view: number, ca: number): number {
    for (;;) {
      const i = this.hand;
      this.hand = (this.hand + 1) % this.capacity;
      const owner = this.ownerView[i]!;
      if (owner >= 0 && this.referenced[i]) {
        this.referenced[i] = 0;
        continue;
      }
      if (owner >= 0) this.views[owner]?.forget(this.ownerCa[i]!);
      this.ownerView[i] = view;
      this.ownerCa[i] = ca;
      this.referenced[i] = 1;
      return i;
    }
  }

  /** @internal */
  release(i: number): void {
    this.ownerView[i] = -1;
    this.referenced[i] = 0;
  }

  /** @internal */
  unregister(id: number): void {
    this.views[id] = undefined;
  }
}

const INDEX_PAGE = 256;

/**
 * Cluster address → cache slot, in pages of 256 entries (-1 = not cached) plus a count of live entries, so a page
 * goes away with its last entry: a 1 MiB write or read looks up one page instead of hashing 256 addresses, and the
 * index stays proportional to what is cached, not to the volume.
 */
class SlotIndex {
  private readonly pages = new Map<number, Int32Array>();
  size = 0;

  get(ca: number): number | undefined {
    const i = this.pages.get(Math.floor(ca / INDEX_PAGE))?.[ca % INDEX_PAGE];
    return i === undefined || i < 0 ? undefined : i;
  }

  set(ca: number, slot: number): void {
    const p = Math.floor(ca / INDEX_PAGE);
    let page = this.pages.get(p);
    if (!page) {
      page = new Int32Array(INDEX_PAGE + 1).fill(-1);
      page[INDEX_PAGE] = 0;
      this.pages.set(p, page);
    }
    if (page[ca % INDEX_PAGE]! < 0) {
      this.size++;
      page[INDEX_PAGE]!++;
    }
    page[ca % INDEX_PAGE] = slot;
  }

  delete(ca: number): void {
    const p = Math.floor(ca / INDEX_PAGE);
    const page = this.pages.get(p);
    if (!page || page[ca % INDEX_PAGE]! < 0) return;
    page[ca % INDEX_PAGE] = -1;
    this.size--;
    if (--page[INDEX_PAGE]! === 0) this.pages.delete(p);
  }

  *values(): Generator<number> {
    for (const page of this.pages.values()) for (let e = 0; e < INDEX_PAGE; e++) if (page[e]! >= 0) yield page[e]!;
  }

  get pageCount(): number {
    return this.pages.size;
  }

  clear(): void {
    this.pages.clear();
    this.size = 0;
  }
}

export class CacheView {
  private readonly slots = new SlotIndex();
  private closed = false;

  constructor(private readonly cache: ClusterCache, private readonly id: number) {}

  get size(): number {
    return this.slots.size;
  }

  /** Pages of the slot index (for tests: it shrinks as clusters are evicted). */
  get indexPages(): number {
    return this.slots.pageCount;
  }

  /** Copies cluster `ca` into `into` at `at`; false on a miss. */
  get(ca: number, into: Buffer, at: number): boolean {
    const i = this.slots.get(ca);
    if (i === undefined) return false;
    this.cache.slot(i).copy(into, at);
    this.cache.touch(i);
    return true;
  }

  /**
   * Copies the cached clusters from `firstCa` on (at most `n`, stopping at the first miss) into `into` at `at`;
   * returns how many. Consecutive slots go in one copy.
   */
  getRun(firstCa: number, n: number, into: Buffer, at: number): number {
    const cs = this.cache.clusterSize;
    let k = 0;
    let runStart = 0;
    let runSlot = -1;
    for (; k < n; k++) {
      const i = this.slots.get(firstCa + k);
      if (i === undefined) break;
      this.cache.touch(i);
      if (runSlot >= 0 && i === runSlot + (k - runStart)) continue;
      if (runSlot >= 0) this.cache.load(runSlot, k - runStart, into, at + runStart * cs);
      runStart = k;
      runSlot = i;
    }
    if (runSlot >= 0) this.cache.load(runSlot, k - runStart, into, at + runStart * cs);
    return k;
  }

  /** Stores cluster `ca` from `from` at `at` (a whole cluster), replacing what was cached for it. */
  put(ca: number, from: Buffer, at: number): void {
    this.putRun(ca, 1, from, at);
  }

  /**
   * Stores `n` consecutive clusters from `firstCa` (bytes at `from[at..]`). Slots of consecutive addresses are
   * usually consecutive too (claimed in one sweep of the hand, then reused in place), so the bytes go in as few
   * copies as possible: one call per cluster cost more than the copying.
   */
  putRun(firstCa: number, n: number, from: Buffer, at: number): void {
    if (this.closed) return;
    const cs = this.cache.clusterSize;
    let runStart = 0;
    let runSlot = -1;
    for (let k = 0; k <= n; k++) {
      let i = -1;
      if (k < n) {
        const ca = firstCa + k;
        const cached = this.slots.get(ca);
        if (cached === undefined) {
          i = this.cache.claim(this.id, ca);
          this.slots.set(ca, i);
        } else {
          i = cached;
          this.cache.touch(i);
        }
        if (runSlot >= 0 && i === runSlot + (k - runStart)) continue;
      }
      if (runSlot >= 0) this.cache.store(runSlot, from, at + runStart * cs, (k - runStart) * cs);
      runStart = k;
      runSlot = i;
    }
  }

  /** Drops everything cached for this volume (rollback: the same addresses now hold other bytes). */
  clear(): void {
    for (const i of this.slots.values()) this.cache.release(i);
    this.slots.clear();
  }

  close(): void {
    this.clear();
    this.closed = true;
    this.cache.unregister(this.id);
  }

  /** @internal the cache evicted this cluster's slot */
  forget(ca: number): void {
    this.slots.delete(ca);
  }
}

/** Default read cache: 1/16 of the host's memory, at most 2 GiB. */
export function defaultReadCacheBytes(): number {
  return Math.min(2 * 2 ** 30, Math.floor(totalmem() / 16));
}

const shared = new Map<string, ClusterCache>();

/** The process's cache for a cluster size and byte budget (one per combination; normally exactly one). */
export function sharedClusterCache(clusterSize: number, bytes: number): ClusterCache | undefined {
  const capacity = Math.floor(bytes / clusterSize);
  if (capacity < 1) return undefined;
  const key = `${clusterSize}/${capacity}`;
  let c = shared.get(key);
  if (!c) shared.set(key, (c = new ClusterCache(clusterSize, capacity)));
  return c;
}

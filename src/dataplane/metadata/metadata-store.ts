import { LOC_BYTES } from './location.js';
import { PAGE_ENTRIES, type PageTable } from './page-table.js';

/**
 * The locations written under one TLog, in pages of packed 8-byte entries (zero = not written in this cork). A
 * 1 MiB write touches one page instead of allocating an entry per cluster.
 */
class Cork {
  readonly pages = new Map<number, Buffer>();
  constructor(readonly tlogId: string) {}

  get(ca: number): Buffer | undefined {
    const page = this.pages.get(Math.floor(ca / PAGE_ENTRIES));
    if (!page) return undefined;
    const at = (ca % PAGE_ENTRIES) * LOC_BYTES;
    return page.readUInt32LE(at) === 0 ? undefined : page.subarray(at, at + LOC_BYTES);
  }

  private page(p: number): Buffer {
    let page = this.pages.get(p);
    if (!page) this.pages.set(p, (page = Buffer.alloc(PAGE_ENTRIES * LOC_BYTES)));
    return page;
  }

  set(ca: number, loc: Buffer): void {
    loc.copy(this.page(Math.floor(ca / PAGE_ENTRIES)), (ca % PAGE_ENTRIES) * LOC_BYTES, 0, LOC_BYTES);
  }

  /** Clusters firstCa.. at consecutive offsets of one SCO (version 0, clone 0: what the write path produces). */
  setRun(firstCa: number, n: number, scoNumber: number, firstOffset: number): void {
    let page: Buffer | undefined;
    let pageNo = -1;
    for (let i = 0; i < n; i++) {
      const ca = firstCa + i;
      const p = Math.floor(ca / PAGE_ENTRIES);
      if (p !== pageNo) page = this.page((pageNo = p));
      const at = (ca % PAGE_ENTRIES) * LOC_BYTES;
      page!.writeUInt32LE(scoNumber, at);
      page!.writeUInt32LE(firstOffset + i, at + 4); // u16 offset, then version 0 and clone id 0
    }
  }

  *entries(): Generator<[number, Buffer]> {
    for (const [p, page] of this.pages) {
      for (let e = 0; e < PAGE_ENTRIES; e++) {
        const at = e * LOC_BYTES;
        if (page.readUInt32LE(at) !== 0) yield [p * PAGE_ENTRIES + e, page.subarray(at, at + LOC_BYTES)];
      }
    }
  }
}

/**
 * Volume-side metadata (C5): writes since the last uploaded TLog live in per-TLog cork maps; uncorking the oldest
 * applies it to the table once that TLog and the snapshots file that flags it are in the backend, so the table
 * never runs ahead of the backend.
 */
export class MetadataStore {
  private corks: Cork[] = [];

  constructor(readonly table: PageTable) {}

  read(ca: number): Buffer | undefined {
    for (let i = this.corks.length - 1; i >= 0; i--) {
      const hit = this.corks[i]!.get(ca);
      if (hit) return hit;
    }
    return this.table.get(ca);
  }

  write(ca: number, loc: Buffer): void {
    this.current().set(ca, loc);
  }

  /** `n` clusters from `firstCa` now live at consecutive offsets of SCO `scoNumber` from `firstOffset`. */
  writeRun(firstCa: number, n: number, scoNumber: number, firstOffset: number): void {
    if (firstOffset + n - 1 > 0xffff) throw new RangeError(`SCO offset ${firstOffset + n - 1} does not fit 16 bits`);
    this.current().setRun(firstCa, n, scoNumber, firstOffset);
  }

  private current(): Cork {
    const cork = this.corks[this.corks.length - 1];
    if (!cork) throw new Error('metadata store has no open cork');
    return cork;
  }

  /** Starts a new cork for the TLog that becomes current. */
  cork(tlogId: string): void {
    this.corks.push(new Cork(tlogId));
  }

  /** Applies the oldest cork (which must be `tlogId`) to the table, durably, with the table's cork = tlogId. */
  async uncork(tlogId: string): Promise<void> {
    const oldest = this.corks[0];
    if (!oldest || oldest.tlogId !== tlogId) throw new Error(`uncork ${tlogId}: oldest cork is ${oldest?.tlogId ?? 'none'}`);
    for (const [ca, loc] of oldest.entries()) this.table.set(ca, loc);
    await this.table.barrier({ corkId: tlogId });
    this.corks.shift();
  }

  /** Drops all corks (rollback, restart rebuild). */
  reset(): void {
    this.corks = [];
  }

  get corkIds(): string[] {
    return this.corks.map((c) => c.tlogId);
  }

  usedClusters(): number {
    return this.table.meta.usedClusters;
  }
}

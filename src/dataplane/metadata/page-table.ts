import { mkdir, open, readFile, rename, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { LOC_BYTES } from './location.js';

export const PAGE_ENTRIES = 256;
export const ENTRY_BYTES = 24;
export const PAGE_BYTES = PAGE_ENTRIES * ENTRY_BYTES;

export interface TableMeta {
  corkId: string | null;
  scrubId: string | null;
  usedClusters: number;
}

/**
 * The in-process MDS table of one volume (C2.6, C5): cluster address → location, in pages of 256 entries.
 * Pages live in a sparse `pages.bin` (holes = null locations) and in memory; `table.json` records the cork.
 * Barrier = fsync pages, then atomically replace table.json. Pages may run ahead of the recorded cork after a
 * crash; replaying the TLogs after the cork is idempotent, so that is harmless.
 */
export class PageTable {
  private readonly pages = new Map<number, Buffer>();
  private readonly dirty = new Set<number>();
  private file: FileHandle | undefined;
  meta: TableMeta = { corkId: null, scrubId: null, usedClusters: 0 };
  /**
   * Told the pages a barrier made durable and the meta it recorded, before it returns: the volume's metadata
   * backend pushes them to its MDS master (a barrier is where the table moves: uncork, scrub relocations).
   */
  onBarrier: ((pages: Map<number, Buffer>, meta: TableMeta, cleared: boolean) => Promise<void>) | undefined;
  private clearedSinceBarrier = false;

  private constructor(private readonly dir: string) {}

  static async open(dir: string): Promise<PageTable> {
    await mkdir(dir, { recursive: true });
    const t = new PageTable(dir);
    // Not 'a+': on Linux, positional writes to a file opened for append land at the end.
    await (await open(join(dir, 'pages.bin'), 'a')).close();
    t.file = await open(join(dir, 'pages.bin'), 'r+');
    try {
      t.meta = JSON.parse(await readFile(join(dir, 'table.json'), 'utf8')) as TableMeta;
    } catch {
      // a fresh table
    }
    const { size } = await t.file.stat();
    const buf = Buffer.alloc(PAGE_BYTES);
    for (let p = 0; p * PAGE_BYTES < size; p++) {
      const { bytesRead } = await t.file.read(buf, 0, PAGE_BYTES, p * PAGE_BYTES);
      if (bytesRead > 0 && buf.some((b) => b !== 0)) t.pages.set(p, Buffer.from(buf));
    }
    return t;
  }

  /** The 8-byte location of a cluster address, or undefined when never written. */
  get(ca: number): Buffer | undefined {
    const page = this.pages.get(Math.floor(ca / PAGE_ENTRIES));
    if (!page) return undefined;
    const at = (ca % PAGE_ENTRIES) * ENTRY_BYTES;
    return page.readUInt32LE(at) === 0 ? undefined : page.subarray(at, at + LOC_BYTES);
  }

  set(ca: number, loc: Buffer): void {
    const p = Math.floor(ca / PAGE_ENTRIES);
    let page = this.pages.get(p);
    if (!page) this.pages.set(p, (page = Buffer.alloc(PAGE_BYTES)));
    const at = (ca % PAGE_ENTRIES) * ENTRY_BYTES;
    if (page.readUInt32LE(at) === 0) this.meta.usedClusters++;
    loc.copy(page, at, 0, LOC_BYTES);
    this.dirty.add(p);
  }

  /** Page numbers holding at least one location, ascending. */
  pageNumbers(): number[] {
    return [...this.pages.keys()].sort((a, b) => a - b);
  }

  /** A copy of one page (all zero when it holds nothing). */
  page(p: number): Buffer {
    const page = this.pages.get(p);
    return page ? Buffer.from(page) : Buffer.alloc(PAGE_BYTES);
  }

  /** Replaces a whole page (an MDS master taking its owner's pages); `usedClusters` follows. */
  setPage(p: number, data: Buffer): void {
    if (data.length !== PAGE_BYTES) throw new RangeError(`a page is ${PAGE_BYTES} bytes, not ${data.length}`);
    const old = this.pages.get(p);
    this.meta.usedClusters += usedIn(data) - (old ? usedIn(old) : 0);
    if (data.every((b) => b === 0)) this.pages.delete(p);
    else this.pages.set(p, Buffer.from(data));
    this.dirty.add(p);
  }

  /** Writes dirty pages and then the meta (cork) durably, in that order. */
  async barrier(meta: Partial<TableMeta> = {}): Promise<void> {
    const f = this.file!;
    const changed = this.onBarrier ? new Map([...this.dirty].map((p) => [p, this.page(p)] as const)) : undefined;
    for (const p of this.dirty) {
      const page = this.pages.get(p);
      await f.write(page ?? Buffer.alloc(PAGE_BYTES), 0, PAGE_BYTES, p * PAGE_BYTES);
    }
    this.dirty.clear();
    await f.datasync();
    this.meta = { ...this.meta, ...meta };
    const tmp = join(this.dir, 'table.json.tmp');
    await writeFile(tmp, JSON.stringify(this.meta));
    const h = await open(tmp, 'r+');
    await h.datasync();
    await h.close();
    await rename(tmp, join(this.dir, 'table.json'));
    const cleared = this.clearedSinceBarrier;
    this.clearedSinceBarrier = false;
    if (changed) await this.onBarrier?.(changed, { ...this.meta }, cleared);
  }

  async clear(): Promise<void> {
    this.clearedSinceBarrier = true;
    this.pages.clear();
    this.dirty.clear();
    await this.file!.truncate(0);
    this.meta = { corkId: null, scrubId: this.meta.scrubId, usedClusters: 0 };
    await this.barrier();
  }

  async close(): Promise<void> {
    await this.file?.close();
    this.file = undefined;
  }
}

function usedIn(page: Buffer): number {
  let n = 0;
  for (let at = 0; at < PAGE_BYTES; at += ENTRY_BYTES) if (page.readUInt32LE(at) !== 0) n++;
  return n;
}

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

  /** Writes dirty pages and then the meta (cork) durably, in that order. */
  async barrier(meta: Partial<TableMeta> = {}): Promise<void> {
    const f = this.file!;
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
  }

  async clear(): Promise<void> {
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

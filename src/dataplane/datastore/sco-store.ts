import { closeSync, fdatasync, ftruncateSync, openSync, readSync, write, writeSync } from 'node:fs';
import { mkdir, readdir, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { crc32c } from '../common/crc32c.js';
import { parseScoName, scoName } from '../common/names.js';

const datasync = promisify(fdatasync);
const writeAsync = promisify(write);
const SYNC_WRITE_MAX = 128 * 1024;

async function writeAll(fd: number, data: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < data.length) written += (await writeAsync(fd, data, written, data.length - written, position + written)).bytesWritten;
}

/** The SCO being appended to: its number, the next free cluster slot, its running CRC32C. */
export interface OpenSco {
  number: number;
  name: string;
  fd: number;
  /** Next free cluster offset inside the SCO. */
  cursor: number;
  crc: number;
}

const MAX_READERS = 1024;

/**
 * The write cache of one volume (`wc/<ns>/`): SCO files written once, front to back; closed SCOs stay as read
 * cache (phase 1 evicts nothing). Appends and reads use synchronous positional I/O on cached descriptors: they hit
 * the page cache, and going through the thread pool per 4 KiB cost more than the copy itself (measured: ~4× on
 * random reads). Only fdatasync, which waits for the disk, stays asynchronous, and it runs at flush time for every
 * SCO written since the last flush, not at each SCO close.
 */
export class ScoStore {
  /** Read descriptors by SCO name, least recently used first. */
  private readonly readers = new Map<string, number>();
  /** Closed SCOs whose data is not yet known durable. */
  private readonly unsynced = new Map<string, number>();
  current: OpenSco | undefined;
  private currentDirty = false;

  constructor(readonly dir: string, readonly clusterSize: number, public scoMultiplier: number) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  /**
   * Opens SCO `number` for appending at cluster offset `cursor` (0 for a new SCO; > 0 after a local restart).
   * A new SCO gets a new file: its name may be reused after a rollback, and the old inode may be shared with the
   * backend's copy (hard link), which must not change.
   */
  async openSco(number: number, cursor = 0, crc = 0): Promise<OpenSco> {
    const name = scoName(number);
    const path = join(this.dir, name);
    this.forget(name);
    if (cursor === 0) await unlink(path).catch(() => undefined);
    const fd = openSync(path, cursor === 0 ? 'w+' : 'r+');
    if (cursor > 0) ftruncateSync(fd, cursor * this.clusterSize);
    this.current = { number, name, fd, cursor, crc };
    this.currentDirty = false;
    return this.current;
  }

  get room(): number {
    return this.current ? this.scoMultiplier - this.current.cursor : 0;
  }

  /**
   * Appends whole clusters to the current SCO; returns the first offset used. Small appends are copied into the
   * page cache synchronously; large ones go through the thread pool so the kernel copy does not hold the event loop.
   */
  async append(data: Buffer): Promise<number> {
    const sco = this.current!;
    const offset = sco.cursor;
    const position = offset * this.clusterSize;
    sco.cursor += data.length / this.clusterSize;
    this.currentDirty = true;
    if (data.length <= SYNC_WRITE_MAX) {
      let written = 0;
      while (written < data.length) written += writeSync(sco.fd, data, written, data.length - written, position + written);
      sco.crc = crc32c(data, sco.crc);
      return offset;
    }
    const pending = writeAll(sco.fd, data, position);
    sco.crc = crc32c(data, sco.crc);
    await pending;
    return offset;
  }

  /** Closes the current SCO for appending (it stays readable); returns its number and CRC for the TLog. */
  closeCurrent(): { number: number; name: string; crc: number } | undefined {
    const sco = this.current;
    if (!sco) return undefined;
    this.current = undefined;
    if (this.currentDirty) this.unsynced.set(sco.name, sco.fd);
    this.remember(sco.name, sco.fd);
    return { number: sco.number, name: sco.name, crc: sco.crc };
  }

  /** Makes every SCO written since the last sync durable. */
  async sync(): Promise<void> {
    const pending = [...this.unsynced.entries()];
    this.unsynced.clear();
    if (this.current && this.currentDirty) {
      pending.push([this.current.name, this.current.fd]);
      this.currentDirty = false;
    }
    await Promise.all(pending.map(async ([name, fd]) => {
      await datasync(fd);
      // Evicted from the read cache while waiting for its sync: now it can go.
      if (this.readers.get(name) !== fd && this.current?.fd !== fd) closeSync(fd);
    }));
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  async exists(name: string): Promise<boolean> {
    return stat(this.path(name)).then(() => true, () => false);
  }

  async length(name: string): Promise<number> {
    return stat(this.path(name)).then((s) => s.size, () => -1);
  }

  /** Reads `count` clusters at `offset` of a local SCO into `into`; false when the SCO is not local. */
  read(name: string, offset: number, count: number, into: Buffer, at: number): boolean {
    let fd = this.current?.name === name ? this.current.fd : this.readers.get(name);
    if (fd === undefined) {
      try {
        fd = openSync(this.path(name), 'r');
      } catch {
        return false;
      }
      this.remember(name, fd);
    } else if (this.readers.has(name)) {
      this.readers.delete(name);
      this.readers.set(name, fd);
    }
    const len = count * this.clusterSize;
    const bytesRead = readSync(fd, into, at, len, offset * this.clusterSize);
    if (bytesRead < len) into.fill(0, at + bytesRead, at + len);
    return true;
  }

  /** Deletes local SCOs with a number above `lastKept` (rollback reuses those numbers). */
  async deleteAbove(lastKept: number): Promise<void> {
    for (const f of await readdir(this.dir)) {
      const parsed = parseScoName(f);
      if (parsed && parsed.number > lastKept) {
        this.forget(f);
        await rm(this.path(f), { force: true });
      }
    }
  }

  async close(): Promise<void> {
    await this.sync().catch(() => undefined);
    for (const fd of this.readers.values()) closeSync(fd);
    this.readers.clear();
    if (this.current) closeSync(this.current.fd);
    this.current = undefined;
  }

  private remember(name: string, fd: number): void {
    this.readers.set(name, fd);
    while (this.readers.size > MAX_READERS) {
      const [oldest, ofd] = this.readers.entries().next().value as [string, number];
      this.readers.delete(oldest);
      // Reads are synchronous, so nothing is using it; an unsynced SCO keeps its descriptor until the next sync.
      if (!this.unsynced.has(oldest)) closeSync(ofd);
    }
  }

  private forget(name: string): void {
    const fd = this.readers.get(name);
    this.readers.delete(name);
    if (fd !== undefined && !this.unsynced.has(name)) closeSync(fd);
  }
}

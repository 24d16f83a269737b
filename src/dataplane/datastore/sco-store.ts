import { mkdir, open, readdir, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c } from '../common/crc32c.js';
import { parseScoName, scoName } from '../common/names.js';

/** The SCO being appended to: its number, the next free cluster slot, its running CRC32C. */
export interface OpenSco {
  number: number;
  name: string;
  handle: FileHandle;
  /** Next free cluster offset inside the SCO. */
  cursor: number;
  crc: number;
  dirty: boolean;
}

/**
 * The write cache of one volume (`wc/<ns>/`): SCO files written once, front to back. Closed SCOs stay as read cache
 * (phase 1 evicts nothing). Read handles are cached per SCO.
 */
export class ScoStore {
  private readonly readers = new Map<string, FileHandle>();
  current: OpenSco | undefined;

  constructor(readonly dir: string, readonly clusterSize: number, public scoMultiplier: number) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  /** Opens SCO `number` for appending at cluster offset `cursor` (0 for a new SCO; > 0 after a local restart). */
  async openSco(number: number, cursor = 0, crc = 0): Promise<OpenSco> {
    const name = scoName(number);
    const handle = await open(join(this.dir, name), cursor === 0 ? 'w+' : 'r+');
    if (cursor > 0) await handle.truncate(cursor * this.clusterSize);
    this.current = { number, name, handle, cursor, crc, dirty: false };
    this.readers.delete(name);
    return this.current;
  }

  get room(): number {
    return this.current ? this.scoMultiplier - this.current.cursor : 0;
  }

  /** Appends whole clusters to the current SCO; returns the first offset used. */
  async append(data: Buffer): Promise<number> {
    const sco = this.current!;
    const offset = sco.cursor;
    sco.cursor += data.length / this.clusterSize;
    sco.dirty = true;
    sco.crc = crc32c(data, sco.crc);
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await sco.handle.write(data, written, data.length - written, offset * this.clusterSize + written);
      written += bytesWritten;
    }
    return offset;
  }

  /** Closes the current SCO (fsynced); returns its number and CRC for the TLog's SCO CRC record. */
  async closeCurrent(): Promise<{ number: number; name: string; crc: number } | undefined> {
    const sco = this.current;
    if (!sco) return undefined;
    if (sco.dirty) await sco.handle.datasync();
    await sco.handle.close();
    this.current = undefined;
    return { number: sco.number, name: sco.name, crc: sco.crc };
  }

  async sync(): Promise<void> {
    const sco = this.current;
    if (sco?.dirty) {
      await sco.handle.datasync();
      sco.dirty = false;
    }
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

  /** Reads `count` clusters at `offset` of a local SCO; undefined when the SCO is not local. */
  async read(name: string, offset: number, count: number, into: Buffer, at: number): Promise<boolean> {
    let h = this.current?.name === name ? this.current.handle : this.readers.get(name);
    if (!h) {
      try {
        h = await open(this.path(name), 'r');
      } catch {
        return false;
      }
      if (this.readers.size > 64) await this.dropReaders();
      this.readers.set(name, h);
    }
    const len = count * this.clusterSize;
    const { bytesRead } = await h.read(into, at, len, offset * this.clusterSize);
    if (bytesRead < len) into.fill(0, at + bytesRead, at + len);
    return true;
  }

  /** Deletes local SCOs with a number above `lastKept` (rollback reuses those numbers). */
  async deleteAbove(lastKept: number): Promise<void> {
    for (const f of await readdir(this.dir)) {
      const parsed = parseScoName(f);
      if (parsed && parsed.number > lastKept) {
        await this.readers.get(f)?.close().catch(() => undefined);
        this.readers.delete(f);
        await rm(this.path(f), { force: true });
      }
    }
  }

  async dropReaders(): Promise<void> {
    for (const h of this.readers.values()) await h.close().catch(() => undefined);
    this.readers.clear();
  }

  async close(): Promise<void> {
    await this.dropReaders();
    await this.current?.handle.close().catch(() => undefined);
    this.current = undefined;
  }
}

/**
 * The DTL server's store: per namespace a directory of append-only `<sco>.dtl` files and an in-memory index of
 * their records. Appends are not durable until `flush()` (fsync of the files written since). Survives restarts:
 * `open()` rebuilds the index from the files.
 */
import { mkdir, open, readdir, readFile, rm, type FileHandle, writeFile } from 'node:fs/promises';
import { writevSync } from 'node:fs';
import { join } from 'node:path';
import { Mutex } from '../common/locks.js';
import type { DtlEntry, DtlRange } from './messages.js';
import { decodeRecords, RECORD_HEADER_BYTES, recordBuffers, type StoredRecord } from './record.js';

const SCO_FILE = /^(\d{1,10})\.dtl$/;
const OWNER_TAG_FILE = 'owner_tag';
const SAFE_NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export function isValidDtlNamespace(ns: string): boolean {
  return SAFE_NAMESPACE.test(ns);
}

interface ScoFile {
  handle: FileHandle;
  size: number;
  dirty: boolean;
  records: StoredRecord[];
}

/** One namespace's entries. Every method runs under the namespace's mutex, so appends keep their order. */
export class DtlNamespaceLog {
  private readonly files = new Map<number, ScoFile>();
  private readonly lock = new Mutex();
  private directoryDirty = false;
  private storedOwnerTag = 0n;

  private constructor(private readonly dir: string) {}

  static async open(dir: string): Promise<DtlNamespaceLog> {
    const log = new DtlNamespaceLog(dir);
    await mkdir(dir, { recursive: true });
    await log.load();
    return log;
  }

  private async load(): Promise<void> {
    for (const name of await readdir(this.dir)) {
      const match = SCO_FILE.exec(name);
      if (match === null) continue;
      const path = join(this.dir, name);
      const { records, validBytes } = decodeRecords(await readFile(path));
      const handle = await open(path, 'a+');
      const { size } = await handle.stat();
      if (validBytes < size) {
        await handle.truncate(validBytes);
        await handle.sync();
      }
      this.files.set(Number(match[1]), { handle, size: validBytes, dirty: false, records });
    }
    try {
      this.storedOwnerTag = BigInt((await readFile(join(this.dir, OWNER_TAG_FILE), 'utf8')).trim());
    } catch {
      this.storedOwnerTag = 0n;
    }
  }

  get ownerTag(): bigint {
    return this.storedOwnerTag;
  }

  /** Kept on disk so that after a restart a stale owner still cannot register before the current one. */
  async setOwnerTag(tag: bigint): Promise<void> {
    await this.lock.run(async () => {
      if (tag === this.storedOwnerTag) return;
      await writeFile(join(this.dir, OWNER_TAG_FILE), `${tag}\n`, { flush: true });
      this.storedOwnerTag = tag;
    });
  }

  async append(entries: readonly DtlEntry[]): Promise<void> {
    await this.lock.run(async () => {
      let start = 0;
      while (start < entries.length) {
        const scoNumber = entries[start]!.location.scoNumber;
        let end = start + 1;
        while (end < entries.length && entries[end]!.location.scoNumber === scoNumber) end++;
        await this.appendToSco(scoNumber, entries.slice(start, end));
        start = end;
      }
    });
  }

  private async appendToSco(scoNumber: number, entries: readonly DtlEntry[]): Promise<void> {
    let file = this.files.get(scoNumber);
    if (file === undefined) {
      file = { handle: await open(join(this.dir, `${scoNumber}.dtl`), 'a+'), size: 0, dirty: false, records: [] };
      this.files.set(scoNumber, file);
      this.directoryDirty = true;
    }
    await appendAll(file.handle, recordBuffers(entries));
    let at = file.size;
    for (const entry of entries) {
      file.records.push({ offset: entry.location.offset, lba: entry.lba, dataPosition: at + RECORD_HEADER_BYTES, dataLength: entry.data.length });
      at += RECORD_HEADER_BYTES + entry.data.length;
    }
    file.size = at;
    file.dirty = true;
  }

  async flush(): Promise<void> {
    await this.lock.run(async () => {
      for (const file of this.files.values()) {
        if (!file.dirty) continue;
        await file.handle.sync();
        file.dirty = false;
      }
      if (this.directoryDirty) {
        await syncDirectory(this.dir);
        this.directoryDirty = false;
      }
    });
  }

  async removeUpTo(scoNumber: number): Promise<void> {
    await this.lock.run(() => this.removeWhere((n) => n <= scoNumber));
  }

  async clear(): Promise<void> {
    await this.lock.run(() => this.removeWhere(() => true));
  }

  private async removeWhere(matches: (scoNumber: number) => boolean): Promise<void> {
    for (const [scoNumber, file] of [...this.files]) {
      if (!matches(scoNumber)) continue;
      this.files.delete(scoNumber);
      await file.handle.close();
      await rm(join(this.dir, `${scoNumber}.dtl`), { force: true });
    }
    await syncDirectory(this.dir);
  }

  async range(): Promise<DtlRange | undefined> {
    return this.lock.run(() => {
      const numbers = [...this.files].filter(([, file]) => file.records.length > 0).map(([n]) => n);
      if (numbers.length === 0) return undefined;
      return { oldest: Math.min(...numbers), youngest: Math.max(...numbers) };
    });
  }

  /**
   * Calls `visit` for every entry (of one SCO when `onlySco` is given) in SCO order, then append order. Holds the
   * namespace, so no append or removal interleaves with the stream.
   */
  async forEachEntry(visit: (entry: DtlEntry) => Promise<void>, onlySco?: number): Promise<void> {
    await this.lock.run(async () => {
      const numbers = [...this.files.keys()].filter((n) => onlySco === undefined || n === onlySco).sort((a, b) => a - b);
      for (const scoNumber of numbers) {
        const file = this.files.get(scoNumber)!;
        for (const record of file.records) {
          const data = Buffer.allocUnsafe(record.dataLength);
          const { bytesRead } = await file.handle.read(data, 0, record.dataLength, record.dataPosition);
          if (bytesRead !== record.dataLength) throw new Error(`DTL file ${scoNumber}.dtl is shorter than its index`);
          await visit({ location: { scoNumber, offset: record.offset }, lba: record.lba, data });
        }
      }
    });
  }

  /** Closes the files; with `destroy` also deletes the namespace's directory. */
  async close(destroy = false): Promise<void> {
    await this.lock.run(async () => {
      for (const file of this.files.values()) await file.handle.close();
      this.files.clear();
      if (destroy) await rm(this.dir, { recursive: true, force: true });
    });
  }
}

/**
 * Appends the buffers on this thread: an append into the page cache takes microseconds, less than handing it to the
 * thread pool and back, and the server has nothing else to do meanwhile for this namespace. A short write (a full
 * disk) finishes through the thread pool, which reports the error.
 */
async function appendAll(handle: FileHandle, buffers: Buffer[]): Promise<void> {
  const total = buffers.reduce((n, b) => n + b.length, 0);
  const written = writevSync(handle.fd, buffers);
  if (written === total) return;
  await handle.write(Buffer.concat(buffers).subarray(written));
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** All namespaces under `root` (the server's `dtl/` directory), opened on first use. */
export class DtlStore {
  private readonly logs = new Map<string, Promise<DtlNamespaceLog>>();

  constructor(readonly root: string) {}

  namespace(ns: string): Promise<DtlNamespaceLog> {
    if (!isValidDtlNamespace(ns)) return Promise.reject(new RangeError(`invalid DTL namespace ${JSON.stringify(ns)}`));
    let log = this.logs.get(ns);
    if (log === undefined) {
      log = DtlNamespaceLog.open(join(this.root, ns));
      this.logs.set(ns, log);
      void log.catch(() => this.logs.delete(ns));
    }
    return log;
  }

  /** Deletes a namespace's entries and directory (UNREGISTER). */
  async drop(ns: string): Promise<void> {
    const log = await this.namespace(ns);
    this.logs.delete(ns);
    await log.close(true);
  }

  async close(): Promise<void> {
    const logs = [...this.logs.values()];
    this.logs.clear();
    for (const log of logs) await (await log).close();
  }
}

import { closeSync, constants, fdatasync, ftruncateSync, open, openSync, read, readSync, write } from 'node:fs';
import { mkdir, readdir, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DIRECT_ALIGN, directIoWorks, sharedAlignedPool, type AlignedPool } from '../common/aligned-pool.js';
import { crc32Offloaded } from '../common/crc-offload.js';
import { crc32, crc32Combine } from '../common/crc32.js';
import { parseScoName, scoName } from '../common/names.js';
import { WriteGather } from './write-gather.js';

const datasync = promisify(fdatasync);
const writeAsync = promisify(write);
const readAsync = promisify(read);
const openAsync = promisify(open);
const SYNC_WRITE_MAX = 128 * 1024;
/** Appends and reads of at least this many bytes bypass the page cache (O_DIRECT) when the filesystem allows it. */
export const DIRECT_MIN_BYTES = 64 * 1024;
/**
 * SCO files created ahead of need. Creating a file can take milliseconds (ext4 scans past recently deleted inodes),
 * and an SCO is opened under the write mutex: measured, one ahead still stalled every fourth 1 MiB write by ~2 ms.
 */
const PREPARE_AHEAD = 3;

async function writeAll(fd: number, data: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < data.length) written += (await writeAsync(fd, data, written, data.length - written, position + written)).bytesWritten;
}

/** CRC32C of one piece of a write, to be joined into the SCO's running CRC. */
export interface CrcPiece {
  crc: number;
  length: number;
}

/** The SCO being appended to: its number, the next free cluster slot, its running CRC32C. */
export interface OpenSco {
  number: number;
  name: string;
  fd: number;
  /** Next free cluster offset inside the SCO. */
  cursor: number;
  crc: number;
  /** O_DIRECT descriptor for large appends, opened on first use. */
  directFd?: number;
}

const MAX_READERS = 1024;

/**
 * The write cache of one volume (`wc/<ns>/`): SCO files written once, front to back; closed SCOs stay as read
 * cache (phase 1 evicts nothing).
 *
 * Small appends and reads use synchronous positional I/O on cached descriptors: they hit the page cache, and going
 * through the thread pool per 4 KiB cost more than the copy itself (measured: ~4× on random reads).
 * Large appends and reads (≥ DIRECT_MIN_BYTES) go through the thread pool with O_DIRECT from page-aligned slots:
 * streaming data through the page cache costs a page allocation per 4 KiB, and on a VM whose host reclaims freed
 * guest memory that is ~2.6 s of kernel time per GiB (measured: 400 MB/s buffered against 2.2 GB/s direct to the
 * same disk). A log-structured cache only ever writes new pages, so it would pay that on every byte.
 *
 * Only fdatasync, which waits for the disk, stays asynchronous, and it runs at flush time for every SCO written since
 * the last flush, not at each SCO close. It covers direct writes too: they reach the device but not past its cache.
 */
export class ScoStore {
  /** Read descriptors by SCO name, least recently used first. */
  private readonly readers = new Map<string, number>();
  /** Closed SCOs whose data is not yet known durable. */
  private readonly unsynced = new Map<string, number>();
  current: OpenSco | undefined;
  private currentDirty = false;
  /** The files of the SCOs expected next, in order, created ahead of need. */
  private prepared: Array<{ number: number; fd: Promise<number> }> = [];
  /** Whether large I/O bypasses the page cache; decided by probing the directory in init(). */
  direct = false;
  private readonly pool: AlignedPool;

  private readonly gather = new WriteGather();

  constructor(readonly dir: string, readonly clusterSize: number, public scoMultiplier: number, private readonly opts: { directIo?: boolean } = {}) {
    this.pool = sharedAlignedPool();
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    this.direct = this.opts.directIo !== false && this.clusterSize % DIRECT_ALIGN === 0 && directIoWorks(this.dir);
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
    let fd: number | undefined;
    if (cursor === 0) {
      let ready: Promise<number> | undefined;
      if (this.prepared[0]?.number === number) ready = this.prepared.shift()!.fd;
      else this.discardPrepared();
      for (let ahead = this.prepared.length + 1; ahead <= PREPARE_AHEAD; ahead++) this.prepare(number + ahead);
      fd = await ready?.catch(() => undefined);
      if (fd === undefined) {
        await unlink(path).catch(() => undefined);
        fd = openSync(path, 'w+');
      }
    } else {
      this.discardPrepared();
      fd = openSync(path, 'r+');
      ftruncateSync(fd, cursor * this.clusterSize);
    }
    this.current = { number, name, fd, cursor, crc };
    this.currentDirty = false;
    return this.current;
  }

  /**
   * Creates the file of SCO `number` in the background. Creating a file waits for the filesystem journal,
   * which the uploads' fsyncs keep busy: measured ~0.5 ms per SCO on the write path when created on demand.
   */
  private prepare(number: number): void {
    const path = join(this.dir, scoName(number));
    const fd = (async () => {
      await unlink(path).catch(() => undefined);
      return openAsync(path, 'wx+'); // read and write: it also serves reads of this SCO
    })();
    fd.catch(() => undefined); // openSco falls back to creating it itself
    this.prepared.push({ number, fd });
  }

  /**
   * Drops the prepared files' descriptors (their numbers will not come next: rollback, restart, close). The empty files
   * stay: removing one later could remove an SCO opened under the same name meanwhile, and an empty file is
   * replaced by whoever opens that number (openSco unlinks before it creates).
   */
  private discardPrepared(): void {
    for (const p of this.prepared) p.fd.then(closeSync, () => undefined);
    this.prepared = [];
  }

  get room(): number {
    return this.current ? this.scoMultiplier - this.current.cursor : 0;
  }

  /**
   * Reserves `n` clusters of the current SCO (n ≤ room) and returns their first offset. The bytes are written by
   * writeAt(); reserving first lets several writes be in flight while their locations stay in reservation order.
   */
  reserve(n: number): { sco: OpenSco; offset: number } {
    const sco = this.current!;
    const offset = sco.cursor;
    sco.cursor += n;
    this.currentDirty = true;
    return { sco, offset };
  }

  /**
   * Writes whole clusters at a reserved `offset` of `sco`; resolves with the CRCs of its pieces, which the caller
   * adds with addCrc() in reservation order. Small writes are copied into the page cache at the end of the event-loop
   * turn, those that continue each other in one system call (WriteGather); large ones go through the thread pool
   * (O_DIRECT when enabled) so the event loop neither copies nor sums them.
   */
  async writeAt(sco: OpenSco, offset: number, data: Buffer): Promise<CrcPiece[]> {
    const position = offset * this.clusterSize;
    if (this.direct && data.length >= DIRECT_MIN_BYTES) {
      sco.directFd ??= openSync(this.path(sco.name), constants.O_WRONLY | constants.O_DIRECT);
      return this.writeDirect(sco.directFd, data, position);
    }
    if (data.length <= SYNC_WRITE_MAX) {
      const crc = crc32(data);
      await this.gather.write(sco.fd, data, position);
      return [{ crc, length: data.length }];
    }
    const pending = writeAll(sco.fd, data, position);
    const crc = crc32(data);
    await pending;
    return [{ crc, length: data.length }];
  }

  /** Extends the SCO's running CRC; pieces must come in offset order. */
  addCrc(sco: OpenSco, pieces: CrcPiece[]): void {
    for (const p of pieces) sco.crc = crc32Combine(sco.crc, p.crc, p.length);
  }

  /**
   * Writes `data` at `position` through the O_DIRECT descriptor, one aligned slot per piece, pieces in parallel (or
   * from `data` itself when it already lies in a slot);
   * each piece is summed on the CRC worker while the thread pool writes it. Returns the pieces' CRCs in order.
   */
  private writeDirect(fd: number, data: Buffer, position: number): Promise<CrcPiece[]> {
    if (this.pool.holdsAligned(data)) {
      // Received straight into a slot (NBD): written and summed from there, no copy.
      return Promise.all([crc32Offloaded(data), writeAll(fd, data, position)]).then(([crc]) => [{ crc, length: data.length }]);
    }
    const issue = async (slot: Buffer, at: number): Promise<CrcPiece> => {
      const n = Math.min(slot.length, data.length - at);
      data.copy(slot, 0, at, at + n);
      const bytes = slot.subarray(0, n);
      try {
        const [crc] = await Promise.all([crc32Offloaded(bytes), writeAll(fd, bytes, position + at)]);
        return { crc, length: n };
      } finally {
        this.pool.release(slot);
      }
    };
    const pieces: Array<Promise<CrcPiece>> = [];
    for (let at = 0; at < data.length; at += this.pool.slotBytes) {
      const slot = this.pool.tryAcquire();
      pieces.push(slot ? issue(slot, at) : this.pool.acquire().then((s) => issue(s, at)));
    }
    return Promise.all(pieces);
  }

  /**
   * Ends reservations in the current SCO; writes already reserved in it may still be in flight. It stays readable
   * and is made durable by the next sync().
   */
  seal(): OpenSco | undefined {
    const sco = this.current;
    if (!sco) return undefined;
    this.current = undefined;
    if (this.currentDirty) this.unsynced.set(sco.name, sco.fd);
    this.remember(sco.name, sco.fd);
    return sco;
  }

  /** After the last write into a sealed SCO landed: its number and complete CRC for the TLog. */
  finish(sco: OpenSco): { number: number; name: string; crc: number } {
    if (sco.directFd !== undefined) closeSync(sco.directFd);
    sco.directFd = undefined;
    return { number: sco.number, name: sco.name, crc: sco.crc };
  }

  /** Closes the current SCO for appending when nothing is in flight; returns its number and CRC for the TLog. */
  closeCurrent(): { number: number; name: string; crc: number } | undefined {
    const sco = this.seal();
    return sco ? this.finish(sco) : undefined;
  }

  /** Makes every SCO written since the last sync durable. */
  async sync(): Promise<void> {
    this.gather.flush();
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

  /**
   * Like read(), for a large run: through the thread pool with O_DIRECT when enabled (the data usually was written
   * that way and is not in the page cache; reading it buffered would allocate a page per 4 KiB).
   */
  async readLarge(name: string, offset: number, count: number, into: Buffer, at: number): Promise<boolean> {
    const len = count * this.clusterSize;
    if (!this.direct) return this.read(name, offset, count, into, at);
    let fd: number;
    try {
      fd = openSync(this.path(name), constants.O_RDONLY | constants.O_DIRECT);
    } catch {
      return false;
    }
    try {
      const step = this.pool.slotBytes;
      const pieces: Array<Promise<void>> = [];
      for (let done = 0; done < len; done += step) {
        const n = Math.min(step, len - done);
        pieces.push(this.pool.with(async (slot) => {
          let got = 0;
          while (got < n) {
            const r = (await readAsync(fd, slot, got, n - got, offset * this.clusterSize + done + got)).bytesRead;
            if (r === 0) break;
            got += r;
          }
          slot.copy(into, at + done, 0, got);
          if (got < n) into.fill(0, at + done + got, at + done + n);
        }));
      }
      await Promise.all(pieces);
    } finally {
      closeSync(fd);
    }
    return true;
  }

  /** Deletes local SCOs with a number above `lastKept` (rollback reuses those numbers). */
  async deleteAbove(lastKept: number): Promise<void> {
    this.gather.flush();
    this.discardPrepared();
    for (const f of await readdir(this.dir)) {
      const parsed = parseScoName(f);
      if (parsed && parsed.number > lastKept) {
        this.forget(f);
        await rm(this.path(f), { force: true });
      }
    }
  }

  async close(): Promise<void> {
    this.gather.flush();
    this.discardPrepared();
    await this.sync().catch(() => undefined);
    for (const fd of this.readers.values()) closeSync(fd);
    this.readers.clear();
    if (this.current) {
      closeSync(this.current.fd);
      if (this.current.directFd !== undefined) closeSync(this.current.directFd);
    }
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

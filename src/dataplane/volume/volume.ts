import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Backend, FenceToken } from '../backend/backend.js';
import { Mutex, RwLock } from '../common/locks.js';
import { MAX_IO_BYTES } from '../common/geometry.js';
import { newTLogName, scoName } from '../common/names.js';
import type { CacheView } from '../cache/cluster-cache.js';
import { DIRECT_MIN_BYTES, type CrcPiece, type OpenSco, type ScoStore } from '../datastore/sco-store.js';
import { OutOfRangeError, ReadOnlyVolumeError, VolumeHaltedError } from '../errors.js';
import { unpackLoc } from '../metadata/location.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import { SNAPSHOTS_OBJECT, allTLogs, findTLog, localSnapshotsPath, saveLocal } from '../snapshots/persistor.js';
import type { SnapshotsFile } from '../snapshots/types.js';
import { encodeLocRun } from '../tlog/record.js';
import { TLogWriter } from '../tlog/writer.js';
import { FAILOVERCACHE_CONFIG_OBJECT, sizeOf, VOLUME_CONFIG_OBJECT, type VolumeConfig } from './config.js';
import { TaskQueue } from './task-queue.js';
import { IoStatisticsCounter } from './io-statistics.js';
import { DtlLink, type DtlTimeouts, type DtlVolume } from './dtl-link.js';
import type { StoredDtlConfig } from '../dtl/config.js';
import type { PageTable } from '../metadata/page-table.js';
import type { MdsBackendConfig, MdsLink } from './mds-link.js';

export interface VolumeDirs {
  wc: string;
  tlogs: string;
  md: string;
  mds: string;
}

export type VolumeEvent = (type: string, fields: Record<string, unknown>) => void;

/** Everything a Volume is built from; assembled by `volume/open.ts` (create, local restart, backend restart). */
export interface VolumeParts {
  cfg: VolumeConfig;
  doc: SnapshotsFile;
  backend: Backend;
  fence: FenceToken;
  dirs: VolumeDirs;
  sco: ScoStore;
  tlog: TLogWriter;
  meta: MetadataStore;
  nsForDepth: string[];
  nextScoNumber: number;
  /** SCOs already closed in the current TLog (a TLog holds whole SCOs, at most tlogMultiplier). */
  scosInCurrentTLog: number;
  /** Highest SCO number referenced by each local, not yet uploaded TLog. */
  lastScoOfTLog: Map<string, number>;
  log: Logger;
  emit: VolumeEvent;
  /** This volume's part of the process's read cache, if there is one. */
  cache?: CacheView;
  dtlTimeouts?: DtlTimeouts;
}

/**
 * A volume (C3, C4): clusters appended to SCO files, every write logged in the current TLog and mapped in the
 * metadata store; closed SCOs and TLogs go to the backend through the ordered task queue. Management operations
 * (snapshots, rollback, template, resize) live in `volume-admin.ts` and take the I/O lock exclusively.
 */
export class Volume implements DtlVolume {
  cfg: VolumeConfig;
  doc: SnapshotsFile;
  readonly backend: Backend;
  fence: FenceToken;
  readonly dirs: VolumeDirs;
  readonly sco: ScoStore;
  tlog: TLogWriter;
  readonly meta: MetadataStore;
  nsForDepth: string[];
  nextScoNumber: number;
  scosInCurrentTLog: number;
  readonly lastScoOfTLog: Map<string, number>;
  readonly log: Logger;
  readonly emit: VolumeEvent;
  readonly cache: CacheView | undefined;
  readonly queue: TaskQueue;
  readonly dtl: DtlLink;
  readonly ioLock = new RwLock();
  readonly writeMutex = new Mutex();
  readonly unalignedLock = new RwLock();
  /** I/O counters since this volume started here (`statistics_volume`). */
  readonly statistics: IoStatisticsCounter;
  haltReason: string | undefined;
  private readonly zeroCluster: Buffer;
  /** Closed TLog files and the local TLog list not yet fsynced (made durable at the next flush). */
  private readonly unsyncedTLogs = new Set<string>();
  private docUnsynced = false;
  /** Commits run one after another in reservation order; this is the last one queued. */
  private commitTail: Promise<void> = Promise.resolve();
  /** Commits so far: a read that overlapped one does not fill the cache (what it read may be stale by now). */
  private commits = 0;
  /** SCOs sealed by reservations since the TLog roll they decided last (commits may lag behind). */
  private scosSealedInTLog: number;

  constructor(p: VolumeParts) {
    this.cfg = p.cfg;
    this.doc = p.doc;
    this.backend = p.backend;
    this.fence = p.fence;
    this.dirs = p.dirs;
    this.sco = p.sco;
    this.tlog = p.tlog;
    this.meta = p.meta;
    this.nsForDepth = p.nsForDepth;
    this.nextScoNumber = p.nextScoNumber;
    this.scosInCurrentTLog = p.scosInCurrentTLog;
    this.scosSealedInTLog = p.scosInCurrentTLog;
    this.lastScoOfTLog = p.lastScoOfTLog;
    this.log = p.log;
    this.emit = p.emit;
    this.cache = p.cache;
    this.zeroCluster = Buffer.alloc(p.cfg.clusterSize);
    this.statistics = new IoStatisticsCounter(p.cfg.clusterSize);
    this.queue = new TaskQueue((task, e) => this.halt(`backend task ${task} failed: ${(e as Error).message}`));
    this.dtl = new DtlLink(this, p.dtlTimeouts);
  }

  get id(): string {
    return this.cfg.volumeId;
  }

  get ns(): string {
    return this.cfg.ns;
  }

  get ownerTag(): number {
    return this.cfg.ownerTag;
  }

  get size(): number {
    return sizeOf(this.cfg);
  }

  get clusterSize(): number {
    return this.cfg.clusterSize;
  }

  get halted(): boolean {
    return this.haltReason !== undefined;
  }

  halt(reason: string): void {
    if (this.haltReason) return;
    this.haltReason = reason;
    this.log.error({ volume: this.id, reason }, 'volume halted');
    this.emit('volumedriver_error', { code: 'VolumeHalted', volume_name: this.id, info: reason });
  }

  checkUsable(): void {
    if (this.haltReason) throw new VolumeHaltedError(`volume ${this.id} is halted: ${this.haltReason}`, { volume_id: this.id });
  }

  private checkRange(offset: number, length: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || length < 0 || length > MAX_IO_BYTES || offset + length > this.size) {
      throw new OutOfRangeError(`I/O [${offset}, +${length}) is outside volume ${this.id} of ${this.size} bytes`, { offset, length, size: this.size });
    }
  }

  // ---- I/O ------------------------------------------------------------------------------------

  async write(offset: number, data: Buffer): Promise<void> {
    this.checkUsable();
    if (this.cfg.isTemplate) throw new ReadOnlyVolumeError(`volume ${this.id} is a template (read-only)`);
    this.checkRange(offset, data.length);
    if (data.length === 0) return;
    const started = process.hrtime.bigint();
    const cs = this.clusterSize;
    if (offset % cs === 0 && data.length % cs === 0) {
      await this.unalignedLock.shared(() => this.ioLock.shared(() => this.writeAligned(offset / cs, data)));
      this.statistics.write(data.length, false, started);
      return;
    }
    // Unaligned: read the covering clusters, patch, write them back; exclusive against other unaligned writes.
    await this.unalignedLock.exclusive(async () => {
      const start = Math.floor(offset / cs) * cs;
      const end = Math.ceil((offset + data.length) / cs) * cs;
      const span = await this.ioLock.shared(() => this.readInternal(start, end - start));
      data.copy(span, offset - start);
      await this.ioLock.shared(() => this.writeAligned(start / cs, span));
    });
    this.statistics.write(data.length, true, started);
  }

  /**
   * Two steps, so that several writes can be in flight (C12.1 still holds: locations are published only after their
   * bytes landed). Under writeMutex: reserve SCO space in order and start the I/O. Then, in reservation order on the
   * commit chain: wait for the bytes, log the locations in the TLog, publish them in the metadata, close SCOs and roll
   * TLogs. The reservation decides where SCOs end and TLogs roll, so the commits only carry that out.
   */
  private async writeAligned(firstCa: number, data: Buffer): Promise<void> {
    const commit = await this.writeMutex.run(async () => {
      this.checkUsable();
      const cs = this.clusterSize;
      const total = data.length / cs;
      const parts: PendingPart[] = [];
      let done = 0;
      while (done < total) {
        if (!this.sco.current) await this.sco.openSco(this.nextScoNumber++);
        const n = Math.min(total - done, this.sco.room);
        const { sco, offset } = this.sco.reserve(n);
        const chunk = data.subarray(done * cs, (done + n) * cs);
        const part: PendingPart = { sco, offset, n, firstCa: firstCa + done, data: chunk, io: NOT_STARTED, seals: false, rolls: false };
        if (this.sco.room === 0) {
          this.sco.seal();
          part.seals = true;
          if (++this.scosSealedInTLog >= this.cfg.tlogMultiplier) {
            part.rolls = true;
            this.scosSealedInTLog = 0;
          }
        }
        parts.push(part);
        done += n;
      }
      // In reservation order, so that the DTL holds the writes in the order their locations say; before the local
      // writes, so that the other node works on them while this one writes its own copy.
      const dtlAcked = this.dtl.send(parts);
      for (const part of parts) {
        part.io = this.sco.writeAt(part.sco, part.offset, part.data);
        part.io.catch(() => undefined); // observed by the commit
      }
      const run = this.commitTail.then(() => this.commit(parts));
      this.commitTail = run.catch(() => undefined);
      // Wrapped: returning the promise itself would make the mutex wait for the commit, one write at a time.
      return { run, dtlAcked };
    });
    await commit.run;
    // Sync DTL: acknowledged once the other node has it too; async: once its queue has room (a DTL failure degrades
    // the link, the write still lands).
    if (commit.dtlAcked) await commit.dtlAcked;
  }

  private async commit(parts: PendingPart[]): Promise<void> {
    for (const part of parts) {
      let pieces: CrcPiece[];
      try {
        pieces = await part.io;
      } catch (e) {
        // Its clusters are reserved but not written: later locations in this SCO could not be trusted.
        this.halt(`SCO write failed: ${(e as Error).message}`);
        throw e;
      }
      this.checkUsable();
      this.sco.addCrc(part.sco, pieces);
      this.meta.writeRun(part.firstCa, part.n, part.sco.number, part.offset);
      this.commits++;
      this.cache?.putRun(part.firstCa, part.n, part.data, 0);
      this.tlog.addEncoded(encodeLocRun(part.firstCa, part.n, part.sco.number, part.offset));
      this.currentTLogRef().size += part.n * this.clusterSize;
      if (part.seals) this.finishSco(this.sco.finish(part.sco));
      if (part.rolls) await this.rollTLogNow({ closeOpenSco: false });
    }
  }

  /** Waits until every write reserved so far is committed (or failed). Callers hold writeMutex. */
  async drainCommits(): Promise<void> {
    await this.commitTail;
  }

  /** Reads into `into` when given and the range is whole clusters (a reused buffer stays in memory), else into a new one. */
  async read(offset: number, length: number, into?: Buffer): Promise<Buffer> {
    this.checkUsable();
    this.checkRange(offset, length);
    const started = process.hrtime.bigint();
    const out = await this.ioLock.shared(() => this.readInternal(offset, length, into));
    this.statistics.read(length, offset % this.clusterSize !== 0 || length % this.clusterSize !== 0, started);
    return out;
  }

  private async readInternal(offset: number, length: number, into?: Buffer): Promise<Buffer> {
    const cs = this.clusterSize;
    const start = Math.floor(offset / cs);
    const end = Math.ceil((offset + length) / cs);
    const span = (end - start) * cs;
    const out = into && into.length >= span && offset % cs === 0 ? into.subarray(0, span) : Buffer.allocUnsafe(span);
    let ca = start;
    while (ca < end) {
      const cached = this.cache?.getRun(ca, end - ca, out, (ca - start) * cs) ?? 0;
      if (cached > 0) {
        ca += cached;
        continue;
      }
      const raw = this.meta.read(ca);
      const loc = raw ? unpackLoc(raw) : null;
      if (!loc) {
        this.zeroCluster.copy(out, (ca - start) * cs);
        ca++;
        continue;
      }
      // Merge consecutive clusters of one SCO into one read.
      let run = 1;
      while (ca + run < end) {
        const next = this.meta.read(ca + run);
        const l = next ? unpackLoc(next) : null;
        if (!l || l.number !== loc.number || l.cloneId !== loc.cloneId || l.version !== loc.version || l.offset !== loc.offset + run) break;
        run++;
      }
      const commitsBefore = this.commits;
      await this.readRun(loc.cloneId, scoName(loc.number, loc.version), loc.offset, run, out, (ca - start) * cs);
      if (commitsBefore === this.commits) this.cache?.putRun(ca, run, out, (ca - start) * cs);
      ca += run;
    }
    const skip = offset - start * cs;
    return skip === 0 && out.length === length ? out : out.subarray(skip, skip + length);
  }

  private async readRun(cloneId: number, name: string, offset: number, count: number, out: Buffer, at: number): Promise<void> {
    if (cloneId === 0) {
      const local = count * this.clusterSize >= DIRECT_MIN_BYTES ? await this.sco.readLarge(name, offset, count, out, at) : this.sco.read(name, offset, count, out, at);
      if (local) return;
    }
    const ns = this.nsForDepth[cloneId];
    if (!ns) throw new Error(`no namespace for clone depth ${cloneId}`);
    const cs = this.clusterSize;
    const data = await this.backend.getRange(ns, name, offset * cs, count * cs);
    data.copy(out, at);
    if (data.length < count * cs) out.fill(0, at + data.length, at + count * cs);
  }

  /** Makes every acknowledged write durable locally: SCO data, then closed and current TLogs, then the TLog list. */
  async sync(): Promise<void> {
    this.checkUsable();
    const started = process.hrtime.bigint();
    await this.writeMutex.run(() => this.syncLocked());
    this.statistics.sync(started);
  }

  /** Caller holds writeMutex. */
  async syncLocked(): Promise<void> {
    await this.drainCommits();
    await this.sco.sync();
    const closed = [...this.unsyncedTLogs];
    this.unsyncedTLogs.clear();
    await Promise.all(closed.map((path) => fsyncFile(path)));
    await this.tlog.sync();
    if (this.docUnsynced) {
      this.docUnsynced = false;
      await saveLocal(localSnapshotsPath(this.dirs.md), this.doc);
    }
    await this.dtl.flush();
  }

  // ---- DTL ------------------------------------------------------------------------------------

  async persistDtlConfig(stored: StoredDtlConfig): Promise<void> {
    await this.backend.put(this.cfg.ns, FAILOVERCACHE_CONFIG_OBJECT, Buffer.from(JSON.stringify(stored)), { fence: this.fence, overwrite: true });
  }

  async cutForDtl(attach: (cut: string | undefined) => void): Promise<void> {
    this.checkUsable();
    await this.ioLock.exclusive(() =>
      this.writeMutex.run(async () => {
        await this.drainCommits();
        this.checkUsable();
        const unwritten = allTLogs(this.doc).filter((t) => !t.written);
        const unprotected = this.currentTLogRef().size > 0 || unwritten.length > 1;
        if (unprotected) {
          attach(await this.rollTLogNow({ closeOpenSco: true }));
        } else {
          this.closeSco();
          this.scosSealedInTLog = 0;
          attach(undefined);
        }
      }),
    );
  }

  isTLogWritten(id: string): boolean {
    const t = findTLog(this.doc, id);
    return t === undefined || t.written;
  }

  // ---- SCO and TLog rollover -------------------------------------------------------------------

  private currentTLogRef(): SnapshotsFile['current'][number] {
    return this.doc.current[this.doc.current.length - 1]!;
  }

  /** Closes the open SCO: its CRC goes into the TLog and its upload is queued. Caller holds writeMutex, nothing in flight. */
  closeSco(): void {
    const closed = this.sco.closeCurrent();
    if (closed) this.finishSco(closed);
  }

  private finishSco(closed: { number: number; name: string; crc: number }): void {
    this.tlog.add([{ kind: 'sco_crc', crc: closed.crc, algo: 'crc32' }]);
    this.scosInCurrentTLog++;
    this.lastScoOfTLog.set(this.currentTLogRef().id, closed.number);
    const path = this.sco.path(closed.name);
    void this.queue.push(`WriteSCO ${closed.name}`, () => this.backend.put(this.cfg.ns, closed.name, { path }, { fence: this.fence, overwrite: true }));
  }

  /**
   * Closes the current TLog (whole SCOs only) and queues its upload; returns its name. Caller holds writeMutex.
   * Nothing here waits for the disk: with ext4's ordered mode an fsync on the write path flushes every dirty SCO
   * and stalled writes for tens of milliseconds. The next flush (or the upload) makes it durable.
   */
  async rollTLog(): Promise<string> {
    await this.drainCommits();
    this.checkUsable();
    return this.rollTLogNow({ closeOpenSco: true });
  }

  /**
   * `closeOpenSco: false` is the roll a commit carries out: the SCO open now belongs to writes reserved after the
   * roll was decided, so it stays open and its locations go to the next TLog.
   */
  private async rollTLogNow(o: { closeOpenSco: boolean }): Promise<string> {
    if (o.closeOpenSco) {
      this.closeSco();
      this.scosSealedInTLog = 0;
    }
    await this.tlog.close({ durable: false });
    const closedId = this.currentTLogRef().id;
    this.unsyncedTLogs.add(join(this.dirs.tlogs, closedId));
    const nextId = newTLogName();
    this.doc.current.push({ id: nextId, written: false, size: 0 });
    await saveLocal(localSnapshotsPath(this.dirs.md), this.doc, { durable: false });
    this.docUnsynced = true;
    this.meta.cork(nextId);
    this.tlog = await TLogWriter.open(join(this.dirs.tlogs, nextId));
    this.scosInCurrentTLog = 0;
    void this.queue.push(`WriteTLog ${closedId}`, () => this.uploadTLog(closedId), { barrier: true });
    return closedId;
  }

  /** WriteTLog completion (C4): TLog, then the snapshots file flagging it, then local flag, uncork, local delete. */
  private async uploadTLog(id: string): Promise<void> {
    const path = join(this.dirs.tlogs, id);
    await this.backend.put(this.cfg.ns, id, { path }, { fence: this.fence, overwrite: true });
    this.unsyncedTLogs.delete(path);
    const lastSco = Math.max(this.doc.lastScoNumber, this.lastScoOfTLog.get(id) ?? 0);
    const copy = structuredClone(this.doc);
    markWritten(copy, id);
    copy.lastScoNumber = lastSco;
    await this.backend.put(this.cfg.ns, SNAPSHOTS_OBJECT, Buffer.from(JSON.stringify(copy)), { fence: this.fence, overwrite: true });
    markWritten(this.doc, id);
    this.doc.lastScoNumber = Math.max(this.doc.lastScoNumber, lastSco);
    await saveLocal(localSnapshotsPath(this.dirs.md), this.doc);
    await this.meta.uncork(id);
    this.lastScoOfTLog.delete(id);
    await rm(path, { force: true });
    this.dtl.tlogWritten(lastSco);
  }

  /** After a local restart: uploads of SCOs (and a closed TLog) that may not have reached the backend. */
  requeueUpload(tlogId: string | undefined, scoNumbers: number[]): void {
    for (const n of scoNumbers) {
      const name = scoName(n);
      const path = this.sco.path(name);
      void this.queue.push(`WriteSCO ${name}`, () => this.backend.put(this.cfg.ns, name, { path }, { fence: this.fence, overwrite: true }));
    }
    if (tlogId) void this.queue.push(`WriteTLog ${tlogId}`, () => this.uploadTLog(tlogId), { barrier: true });
  }

  /** Queues an upload of the snapshots file as it is now (after snapshot create/delete, rollback). */
  queueSnapshotsUpload(): Promise<void> {
    return this.queue.push('WriteSnapshot', async () => {
      await this.backend.put(this.cfg.ns, SNAPSHOTS_OBJECT, Buffer.from(JSON.stringify(this.doc)), { fence: this.fence, overwrite: true });
    }, { barrier: true });
  }

  /** The metadata backend (MDS master and slaves) this volume pushes its table to; none on a single node. */
  mds: MdsLink | undefined;

  get table(): PageTable {
    return this.meta.table;
  }

  async saveMdsConfig(cfg: MdsBackendConfig): Promise<void> {
    this.cfg = { ...this.cfg, mdsBackend: cfg };
    await this.saveConfig();
  }

  async saveConfig(): Promise<void> {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(this.dirs.md, 'volume.json'), JSON.stringify(this.cfg));
    await this.backend.put(this.cfg.ns, VOLUME_CONFIG_OBJECT, Buffer.from(JSON.stringify(this.cfg)), { fence: this.fence, overwrite: true });
  }

  /**
   * Hands the volume to another node (a move): I/O stops for good, every acknowledged write goes into a TLog that is
   * uploaded with its SCOs, and the volume stops once the backend has all of it. A failed upload leaves the volume
   * halted here, not handed over.
   */
  async handOver(): Promise<string> {
    this.checkUsable();
    let last = '';
    await this.ioLock.exclusive(async () => {
      await this.writeMutex.run(async () => {
        await this.syncLocked();
        last = await this.rollTLogNow({ closeOpenSco: true });
      });
      await this.queue.idle();
      this.checkUsable();
      await this.dtl.release();
      this.haltReason = 'handed over to another node';
    });
    await this.stop({ abandon: true });
    return last;
  }

  /** Stops the volume: no more I/O; pending uploads finish unless `abandon`. Local state stays for a restart. */
  async stop(opts: { abandon?: boolean } = {}): Promise<void> {
    if (!opts.abandon && !this.halted) {
      await this.ioLock.exclusive(async () => {
        await this.writeMutex.run(() => this.syncLocked());
        await this.queue.idle();
      });
    }
    this.haltReason ??= 'stopped';
    this.dtl.close();
    this.cache?.close();
    await this.queue.stop();
    await this.tlog.abandon();
    await this.sco.close();
    await this.meta.table.close();
  }
}

/** One SCO's share of a write between reservation and commit. */
const NOT_STARTED: Promise<CrcPiece[]> = Promise.resolve([]);

interface PendingPart {
  sco: OpenSco;
  offset: number;
  n: number;
  firstCa: number;
  /** The bytes, for the read cache once they landed. */
  data: Buffer;
  io: Promise<CrcPiece[]>;
  /** This part filled its SCO: the commit closes it. */
  seals: boolean;
  /** ...and that filled the TLog: the commit rolls it. */
  rolls: boolean;
}

async function fsyncFile(path: string): Promise<void> {
  const { open } = await import('node:fs/promises');
  const h = await open(path, 'r+').catch(() => undefined);
  if (!h) return;
  await h.datasync();
  await h.close();
}

function markWritten(doc: SnapshotsFile, id: string): void {
  for (const t of [...doc.snapshots.flatMap((s) => s.tlogs), ...doc.current]) if (t.id === id) t.written = true;
}

import { randomUUID } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isTLogName, newTLogName, scoName } from '../common/names.js';
import {
  CannotShrinkError, InvalidOperationError, InvalidSizeError, ObjectStillHasChildrenError, PreviousSnapshotNotOnBackendError,
  ReadOnlyVolumeError, SnapshotExistsError, SnapshotNotFoundError,
} from '../errors.js';
import { ctimeNow, findSnapshot, findTLog, isSnapshotInBackend, localSnapshotsPath, saveLocal, tlogsUpTo } from '../snapshots/persistor.js';
import { TLogWriter } from '../tlog/writer.js';
import { replay, volumeChain } from './chain.js';
import type { Volume } from './volume.js';

export const MAX_SNAPSHOT_METADATA = 4096;
export const MAX_VOLUME_BYTES = 64 * 2 ** 40;

export interface SnapshotInfo {
  snapshot_id: string;
  timestamp: string;
  uuid: string;
  stored: number;
  in_backend: boolean;
  metadata: Buffer;
}

function refuseTemplate(v: Volume, what: string): void {
  if (v.cfg.isTemplate) throw new ReadOnlyVolumeError(`${what} is refused on template ${v.id}`);
}

/** Snapshot of the writes acknowledged before the call (C4 create snapshot). */
export async function createSnapshot(v: Volume, name: string, metadata: Buffer = Buffer.alloc(0)): Promise<string> {
  v.checkUsable();
  refuseTemplate(v, 'create_snapshot');
  if (metadata.length > MAX_SNAPSHOT_METADATA) throw new InvalidOperationError(`snapshot metadata is ${metadata.length} bytes; at most ${MAX_SNAPSHOT_METADATA}`);
  return takeSnapshot(v, name, metadata);
}

async function takeSnapshot(v: Volume, name: string, metadata: Buffer): Promise<string> {
  return v.ioLock.exclusive(() =>
    v.writeMutex.run(async () => {
      if (findSnapshot(v.doc, name)) throw new SnapshotExistsError(`snapshot ${name} exists on ${v.id}`);
      const last = v.doc.snapshots[v.doc.snapshots.length - 1];
      if (last && !isSnapshotInBackend(last)) throw new PreviousSnapshotNotOnBackendError(`snapshot ${last.name} of ${v.id} is not in the backend yet`);
      await v.sco.sync();
      await v.rollTLog();
      const tlogs = v.doc.current.slice(0, -1);
      v.doc.current = v.doc.current.slice(-1);
      const num = Math.max(0, ...v.doc.snapshots.map((s) => s.num)) + 1;
      v.doc.snapshots.push({ num, name, uuid: randomUUID(), date: ctimeNow(), metadata: metadata.toString('base64'), scrubbed: false, tlogs });
      await saveLocal(localSnapshotsPath(v.dirs.md), v.doc);
      void v.queueSnapshotsUpload();
      return name;
    }),
  );
}

export function listSnapshots(v: Volume): string[] {
  return [...v.doc.snapshots].sort((a, b) => a.num - b.num).map((s) => s.name);
}

export function snapshotInfo(v: Volume, name: string): SnapshotInfo {
  const s = findSnapshot(v.doc, name);
  if (!s) throw new SnapshotNotFoundError(`snapshot ${name} not found on ${v.id}`, { snapshot_id: name });
  return { snapshot_id: s.name, timestamp: s.date, uuid: s.uuid, stored: s.tlogs.reduce((n, t) => n + t.size, 0), in_backend: isSnapshotInBackend(s), metadata: Buffer.from(s.metadata, 'base64') };
}

/**
 * Frees nothing: the snapshot's TLogs join the next snapshot (or current), which must be scrubbed again (C4).
 * A clone may be in the making on another node, whose registration the local registry does not show yet: the snapshot
 * is marked `deleting` in the backend first, then the clones are looked up afresh (`hasClones`); create_clone
 * registers first and then checks the mark, so either the clone or the deletion is refused, never neither.
 */
export async function deleteSnapshot(v: Volume, name: string, hasClones: (snapshot: string) => Promise<boolean>): Promise<void> {
  v.checkUsable();
  refuseTemplate(v, 'delete_snapshot');
  const mark = async (deleting: boolean): Promise<void> => {
    await v.ioLock.exclusive(async () => {
      const s = findSnapshot(v.doc, name);
      if (!s) throw new SnapshotNotFoundError(`snapshot ${name} not found on ${v.id}`, { snapshot_id: name });
      if (deleting) s.deleting = true;
      else delete s.deleting;
      await saveLocal(localSnapshotsPath(v.dirs.md), v.doc);
    });
    await v.queueSnapshotsUpload();
  };
  let clones: boolean;
  try {
    await mark(true);
    clones = await hasClones(name);
  } catch (e) {
    if (!(e instanceof SnapshotNotFoundError)) await mark(false).catch(() => undefined);
    throw e;
  }
  if (clones) {
    await mark(false);
    throw new ObjectStillHasChildrenError(`snapshot ${name} of ${v.id} has clones`, { snapshot_id: name });
  }
  await v.ioLock.exclusive(async () => {
    const i = v.doc.snapshots.findIndex((s) => s.name === name);
    if (i < 0) throw new SnapshotNotFoundError(`snapshot ${name} not found on ${v.id}`, { snapshot_id: name });
    const [gone] = v.doc.snapshots.splice(i, 1);
    const next = v.doc.snapshots[i];
    if (next) {
      next.tlogs = [...gone!.tlogs, ...next.tlogs];
      next.scrubbed = false;
    } else {
      v.doc.current = [...gone!.tlogs, ...v.doc.current];
    }
    await saveLocal(localSnapshotsPath(v.dirs.md), v.doc);
    void v.queueSnapshotsUpload();
  });
}

export function isSyncedUpToSnapshot(v: Volume, name: string): boolean {
  const s = findSnapshot(v.doc, name);
  if (!s) throw new SnapshotNotFoundError(`snapshot ${name} not found on ${v.id}`, { snapshot_id: name });
  return isSnapshotInBackend(s);
}

export function isSyncedUpToTLog(v: Volume, tlog: string): boolean {
  return findTLog(v.doc, tlog)?.written ?? false;
}

/** Rolls the TLog so that every write acknowledged before the call goes to the backend; returns its name. */
export async function scheduleBackendSync(v: Volume): Promise<string> {
  v.checkUsable();
  return v.writeMutex.run(async () => {
    await v.drainCommits();
    await v.sco.sync();
    return v.rollTLog();
  });
}

/**
 * Rollback (C4, A9): the table is rebuilt from the backend up to the snapshot, later snapshots and TLogs are
 * dropped, SCO numbers above the kept chain are reused, and the doomed objects are deleted before any new upload.
 */
export async function restoreSnapshot(v: Volume, name: string, laterSnapshotHasClones: (snapshots: string[]) => boolean): Promise<void> {
  v.checkUsable();
  refuseTemplate(v, 'rollback');
  await v.ioLock.exclusive(() =>
    v.writeMutex.run(async () => {
      const i = v.doc.snapshots.findIndex((s) => s.name === name);
      if (i < 0) throw new SnapshotNotFoundError(`snapshot ${name} not found on ${v.id}`, { snapshot_id: name });
      if (!isSnapshotInBackend(v.doc.snapshots[i]!)) throw new PreviousSnapshotNotOnBackendError(`snapshot ${name} of ${v.id} is not in the backend yet`);
      const later = v.doc.snapshots.slice(i + 1).map((s) => s.name);
      if (laterSnapshotHasClones(later)) throw new ObjectStillHasChildrenError(`a snapshot after ${name} of ${v.id} has clones`);
      await v.syncLocked();
      await v.queue.idle();
      v.checkUsable();
      // SCO numbers above the kept chain are used again: what the DTL holds must never be replayed after this.
      await v.dtl.discardEntries();
      const keptIds = new Set(tlogsUpTo(v.doc, name).map((t) => t.id));
      const doomedTLogs = [...v.doc.snapshots.slice(i + 1).flatMap((s) => s.tlogs), ...v.doc.current].map((t) => t.id).filter((id) => !keptIds.has(id));
      const highestUsed = v.nextScoNumber - 1;

      await v.tlog.abandon();
      v.sco.closeCurrent();
      v.meta.reset();
      v.cache?.clear();
      await v.meta.table.clear();
      v.doc.snapshots = v.doc.snapshots.slice(0, i + 1);
      const chain = await volumeChain(v.backend, { ns: v.cfg.ns, doc: v.doc, upToSnapshot: name });
      const lastKept = await replay(v.backend, v.meta.table, chain);
      const corkId = [...keptIds].pop() ?? null;
      await v.meta.table.barrier({ corkId });

      const freshId = newTLogName();
      v.doc.current = [{ id: freshId, written: false, size: 0 }];
      v.doc.lastScoNumber = lastKept;
      v.nextScoNumber = lastKept + 1;
      v.scosInCurrentTLog = 0;
      v.lastScoOfTLog.clear();
      await v.sco.deleteAbove(lastKept);
      for (const f of await readdir(v.dirs.tlogs)) if (isTLogName(f)) await rm(join(v.dirs.tlogs, f), { force: true });
      v.tlog = await TLogWriter.open(join(v.dirs.tlogs, freshId));
      v.meta.cork(freshId);
      await saveLocal(localSnapshotsPath(v.dirs.md), v.doc);
      const ns = v.cfg.ns;
      void v.queue.push('DeleteDoomed', async () => {
        for (const id of doomedTLogs) await v.backend.delete(ns, id, { fence: v.fence, mayNotExist: true });
        for (let n = lastKept + 1; n <= highestUsed; n++) await v.backend.delete(ns, scoName(n), { fence: v.fence, mayNotExist: true });
      }, { barrier: true });
      void v.queueSnapshotsUpload();
    }),
  );
}

/** Grow only, whole clusters, at most 64 TiB (A10). */
export async function resize(v: Volume, bytes: number): Promise<void> {
  v.checkUsable();
  if (!Number.isSafeInteger(bytes) || bytes <= 0 || bytes % v.clusterSize !== 0) throw new InvalidSizeError(`size ${bytes} is not a positive multiple of the cluster size ${v.clusterSize}`);
  if (bytes > MAX_VOLUME_BYTES) throw new InvalidSizeError(`size ${bytes} exceeds ${MAX_VOLUME_BYTES}`);
  if (bytes < v.size) throw new CannotShrinkError(`volume ${v.id} is ${v.size} bytes; it cannot shrink to ${bytes}`);
  await v.ioLock.exclusive(async () => {
    v.cfg = { ...v.cfg, lbaCount: bytes / v.cfg.lbaSize };
    await v.saveConfig();
  });
}

/**
 * Template (A8): one snapshot holding everything (created when there is data after the last one, or none), the
 * others merged into it, read-only from then on; waits until everything is in the backend.
 */
export async function setAsTemplate(v: Volume, hasClones: () => boolean): Promise<void> {
  v.checkUsable();
  if (v.cfg.isTemplate) return;
  if (hasClones()) throw new InvalidOperationError(`volume ${v.id} has clones; it cannot become a template`);
  await v.queue.idle();
  const last = v.doc.snapshots[v.doc.snapshots.length - 1];
  const dataAfterLast = v.doc.current.some((t) => t.size > 0);
  if (!last || dataAfterLast) {
    await waitInBackend(v);
    await takeSnapshot(v, `VolumeTemplateSnapshot_${randomUUID()}`, Buffer.alloc(0));
  }
  await v.ioLock.exclusive(async () => {
    const keep = v.doc.snapshots[v.doc.snapshots.length - 1]!;
    keep.tlogs = v.doc.snapshots.flatMap((s) => s.tlogs);
    v.doc.snapshots = [keep];
    v.cfg = { ...v.cfg, isTemplate: true };
    await saveLocal(localSnapshotsPath(v.dirs.md), v.doc);
    void v.queueSnapshotsUpload();
    await v.saveConfig();
  });
  await v.queue.idle();
}

async function waitInBackend(v: Volume): Promise<void> {
  await v.queue.idle();
}

/** Clusters per SCO (A10): the open SCO is closed and the TLog rolled, so no SCO mixes two sizes. */
export async function setScoMultiplier(v: Volume, scoMultiplier: number, check: (n: number) => string | undefined): Promise<void> {
  v.checkUsable();
  const problem = check(scoMultiplier);
  if (problem) throw new InvalidOperationError(problem);
  await v.ioLock.exclusive(() =>
    v.writeMutex.run(async () => {
      await v.rollTLog();
      v.sco.scoMultiplier = scoMultiplier;
      v.cfg = { ...v.cfg, scoMultiplier };
      await v.saveConfig();
    }),
  );
}

/** SCOs per TLog; takes effect at the next SCO close. */
export async function setTLogMultiplier(v: Volume, tlogMultiplier: number): Promise<void> {
  v.checkUsable();
  if (!Number.isInteger(tlogMultiplier) || tlogMultiplier < 1 || tlogMultiplier > 1024) throw new InvalidOperationError('TLog multiplier must be 1..1024 SCOs');
  await v.ioLock.exclusive(async () => {
    v.cfg = { ...v.cfg, tlogMultiplier };
    await v.saveConfig();
  });
}

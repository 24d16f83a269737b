import { randomUUID } from 'node:crypto';
import { open, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Mutex } from '../common/locks.js';
import type { SnapshotRec, SnapshotsFile, TLogRef } from './types.js';

export const SNAPSHOTS_OBJECT = 'snapshots.json';

export function freshSnapshotsFile(firstTLog: string, parent: SnapshotsFile['parent'] = null): SnapshotsFile {
  return { version: 1, parent, current: [{ id: firstTLog, written: false, size: 0 }], snapshots: [], scrubId: randomUUID(), lastScoNumber: 0, useHash: false };
}

const saving = new Map<string, Mutex>();

/**
 * Atomic local save: temp file, fsync, rename, fsync the directory. Saves of one path are serialised in call
 * order and take the content at call time, so the newest state always lands last.
 */
export async function saveLocal(path: string, doc: SnapshotsFile, opts: { durable?: boolean } = {}): Promise<void> {
  const text = JSON.stringify(doc);
  let m = saving.get(path);
  if (!m) saving.set(path, (m = new Mutex()));
  await m.run(() => writeAtomically(path, text, opts.durable ?? true));
}

/** Atomic replace; with `durable: false` the caller makes it durable at its next flush (no fsync on a hot path). */
async function writeAtomically(path: string, text: string, durable: boolean): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, text);
  if (durable) {
    const h = await open(tmp, 'r+');
    await h.datasync();
    await h.close();
  }
  await rename(tmp, path);
  if (!durable) return;
  const d = await open(dirname(path), 'r');
  await d.sync().catch(() => undefined);
  await d.close();
}

export async function loadLocal(path: string): Promise<SnapshotsFile | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as SnapshotsFile;
  } catch {
    return undefined;
  }
}

/** Every TLog of the namespace in order: snapshots oldest first, then current. */
export function allTLogs(doc: SnapshotsFile): TLogRef[] {
  return [...doc.snapshots.flatMap((s) => s.tlogs), ...doc.current];
}

export function findTLog(doc: SnapshotsFile, id: string): TLogRef | undefined {
  return allTLogs(doc).find((t) => t.id === id);
}

export function findSnapshot(doc: SnapshotsFile, name: string): SnapshotRec | undefined {
  return doc.snapshots.find((s) => s.name === name);
}

/** TLogs up to and including a snapshot's cork (its last TLog). */
export function tlogsUpTo(doc: SnapshotsFile, snapshot: string): TLogRef[] {
  const out: TLogRef[] = [];
  for (const s of doc.snapshots) {
    out.push(...s.tlogs);
    if (s.name === snapshot) return out;
  }
  throw new Error(`snapshot ${snapshot} not found`);
}

export function isSnapshotInBackend(s: SnapshotRec): boolean {
  return s.tlogs.every((t) => t.written);
}

export function ctimeNow(): string {
  return new Date().toString();
}

export function localSnapshotsPath(mdDir: string): string {
  return join(mdDir, SNAPSHOTS_OBJECT);
}

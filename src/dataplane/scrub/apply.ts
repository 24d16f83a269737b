import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { Backend } from '../backend/backend.js';
import { packLoc } from '../metadata/location.js';
import type { PageTable, TableMeta } from '../metadata/page-table.js';
import { SNAPSHOTS_OBJECT, findSnapshot, localSnapshotsPath, saveLocal } from '../snapshots/persistor.js';
import type { Volume } from '../volume/volume.js';
import { faults } from '../../testmode/faults.js';
import { forEachRelocation } from './relocation-log.js';
import { newObjectsOf, type ScrubResult } from './types.js';

export interface ApplyOutcome {
  applied: boolean;
  reason?: string;
  /** Cluster addresses of this volume's table that now point at the new locations. */
  relocations: number;
}

/** Relocations as packed 8-byte locations (clone id filled in per volume). */
interface Relocations {
  ca: number[];
  from: Buffer[];
  to: Buffer[];
}

export async function loadResult(backend: Backend, ns: string, resultName: string): Promise<ScrubResult> {
  return JSON.parse((await backend.get(ns, resultName)).toString('utf8')) as ScrubResult;
}

async function loadRelocations(backend: Backend, r: ScrubResult): Promise<Relocations> {
  const out: Relocations = { ca: [], from: [], to: [] };
  for (const name of r.relocLogs) {
    forEachRelocation(await backend.get(r.ns, name), (ca, from, to) => {
      out.ca.push(ca);
      out.from.push(packLoc(from));
      out.to.push(packLoc(to));
    });
  }
  return out;
}

/**
 * Applies a scrub result to the volume that was scrubbed, on its owner (A16 apply, step 1): the snapshot's TLog list
 * is replaced only while it still is the list the scrub read (otherwise the new objects are deleted and nothing
 * changes); then the snapshots file goes to the backend and the relocations into the table, compare-and-set.
 * Retrying after a failure past the list swap finds the new list and redoes the idempotent rest.
 */
export async function applyToOwner(v: Volume, r: ScrubResult, resultName: string): Promise<ApplyOutcome> {
  faults.hit('scrub.step', `apply:${v.id}`);
  v.checkUsable();
  const relocs = await loadRelocations(v.backend, r);
  const outIds = r.tlogsOut.map((t) => t.id);
  const verdict = await v.ioLock.exclusive(async () => {
    const s = findSnapshot(v.doc, r.snapshot);
    if (!s) return `snapshot ${r.snapshot} is gone`;
    const ids = s.tlogs.map((t) => t.id);
    if (sameList(ids, r.tlogsIn)) {
      s.tlogs = r.tlogsOut.map((t) => ({ ...t }));
      s.scrubbed = true;
      v.doc.scrubId = randomUUID();
      await saveLocal(localSnapshotsPath(v.dirs.md), v.doc);
      return 'swapped';
    }
    if (sameList(ids, outIds)) return 'swapped';
    return `the TLogs of snapshot ${r.snapshot} changed since the scrub read them`;
  });
  if (verdict !== 'swapped') {
    for (const name of newObjectsOf(r, resultName)) await v.backend.delete(r.ns, name, { fence: v.fence, mayNotExist: true });
    return { applied: false, reason: verdict, relocations: 0 };
  }
  const lastIn = r.tlogsIn[r.tlogsIn.length - 1];
  const lastOut = outIds[outIds.length - 1];
  const relocated = await onQueue(v, 'ApplyScrub', async () => {
    await v.backend.put(v.ns, SNAPSHOTS_OBJECT, Buffer.from(JSON.stringify(v.doc)), { fence: v.fence, overwrite: true });
    // The table's cork may be the snapshot's last TLog, which now has another name for the same state.
    const meta: Partial<TableMeta> = { scrubId: v.doc.scrubId };
    if (lastOut !== undefined && v.meta.table.meta.corkId === lastIn) meta.corkId = lastOut;
    return relocate(v.meta.table, relocs, 0, meta);
  });
  for (const name of r.deadScos) await rm(v.sco.path(name), { force: true });
  return { applied: true, relocations: relocated };
}

/**
 * A clone's share (A16 apply, step 2): the same relocations with clone id = depth, compare-and-set; a new scrub id,
 * since the ancestor part of its chain changed in the backend.
 */
export async function applyToClone(v: Volume, r: ScrubResult, depth: number): Promise<number> {
  faults.hit('scrub.step', `apply:${v.id}`);
  v.checkUsable();
  const relocs = await loadRelocations(v.backend, r);
  await v.ioLock.exclusive(async () => {
    v.doc.scrubId = randomUUID();
    await saveLocal(localSnapshotsPath(v.dirs.md), v.doc);
  });
  return onQueue(v, 'ApplyScrubToClone', async () => {
    await v.backend.put(v.ns, SNAPSHOTS_OBJECT, Buffer.from(JSON.stringify(v.doc)), { fence: v.fence, overwrite: true });
    return relocate(v.meta.table, relocs, depth, { scrubId: v.doc.scrubId });
  });
}

/** Only through PageTable.set and barrier: the barrier is where table changes reach the MDS. */
async function relocate(table: PageTable, relocs: Relocations, depth: number, meta: Partial<TableMeta>): Promise<number> {
  let n = 0;
  for (let i = 0; i < relocs.ca.length; i++) {
    const from = relocs.from[i]!;
    const to = relocs.to[i]!;
    from.writeUInt8(depth, 7);
    const cur = table.get(relocs.ca[i]!);
    if (!cur || !cur.equals(from)) continue;
    to.writeUInt8(depth, 7);
    table.set(relocs.ca[i]!, to);
    n++;
  }
  await table.barrier(meta);
  return n;
}

/**
 * Runs as a barrier task of the volume's backend queue: after every upload queued before (a TLog's uncork writes the
 * table too) and before any queued after. A task that keeps failing halts the volume, like any backend task.
 */
async function onQueue<T>(v: Volume, name: string, fn: () => Promise<T>): Promise<T> {
  let out: { value: T } | undefined;
  let failure: unknown;
  await v.queue.push(name, async () => {
    try {
      out = { value: await fn() };
    } catch (e) {
      failure = e;
      throw e;
    }
  }, { barrier: true });
  if (out) return out.value;
  v.checkUsable();
  throw failure instanceof Error ? failure : new Error(`${name} on ${v.id} did not run (volume stopping)`);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

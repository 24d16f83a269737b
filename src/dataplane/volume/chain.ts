import type { Backend } from '../backend/backend.js';
import { packLoc } from '../metadata/location.js';
import type { PageTable } from '../metadata/page-table.js';
import { SNAPSHOTS_OBJECT, allTLogs, tlogsUpTo } from '../snapshots/persistor.js';
import type { SnapshotsFile } from '../snapshots/types.js';
import { readTLog } from '../tlog/reader.js';

/** One namespace's part of a volume's history: its TLogs (oldest first) replayed with clone id = depth. */
export interface ChainLink {
  ns: string;
  depth: number;
  tlogs: string[];
}

export async function downloadSnapshots(backend: Backend, ns: string): Promise<SnapshotsFile> {
  return JSON.parse((await backend.get(ns, SNAPSHOTS_OBJECT)).toString('utf8')) as SnapshotsFile;
}

/**
 * The chain of a volume (C5 builder): depth 0 = its own written TLogs (all, or up to a snapshot), then each
 * ancestor's TLogs up to the snapshot its child was cloned from. Returned deepest ancestor first, so replaying in
 * order lets younger writes win.
 */
export async function volumeChain(backend: Backend, own: { ns: string; doc: SnapshotsFile; upToSnapshot?: string }): Promise<ChainLink[]> {
  const ownTLogs = own.upToSnapshot ? tlogsUpTo(own.doc, own.upToSnapshot) : allTLogs(own.doc).filter((t) => t.written);
  const links: ChainLink[] = [{ ns: own.ns, depth: 0, tlogs: ownTLogs.filter((t) => t.written).map((t) => t.id) }];
  let parent = own.doc.parent;
  for (let depth = 1; parent; depth++) {
    if (depth > 255) throw new Error('clone chain deeper than 255');
    const doc = await downloadSnapshots(backend, parent.ns);
    links.push({ ns: parent.ns, depth, tlogs: tlogsUpTo(doc, parent.snapshot).map((t) => t.id) });
    parent = doc.parent;
  }
  return links.reverse();
}

/** Namespaces by clone depth, for reads of ancestor data. */
export function namespacesByDepth(chain: ChainLink[]): string[] {
  const out: string[] = [];
  for (const l of chain) out[l.depth] = l.ns;
  return out;
}

/** Replays TLogs from the backend into a table; returns the highest own (depth 0) SCO number met. */
export async function replay(backend: Backend, table: PageTable, chain: ChainLink[]): Promise<number> {
  let maxOwnSco = 0;
  const loc = Buffer.alloc(8);
  for (const link of chain) {
    for (const id of link.tlogs) {
      const records = await readTLog(await backend.get(link.ns, id));
      for (const r of records) {
        if (r.kind !== 'loc') continue;
        packLoc({ ...r.loc, cloneId: link.depth }, loc);
        table.set(r.ca, loc);
        if (link.depth === 0 && r.loc.number > maxOwnSco) maxOwnSco = r.loc.number;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return maxOwnSco;
}

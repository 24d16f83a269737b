import { z } from 'zod';
import { defineTask } from '../define.js';
import { guidList } from '../params.js';
import { snapshotMapping, snapshotMetadata } from '../shapes.js';

/** Fan-outs over several vDisks hold no state of their own: each call goes to that vDisk's actor; per-vDisk outcomes. */
const module = 'vdisk';
const fanOut = { kind: 'any' } as const;

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export const createSnapshots = defineTask({
  module,
  name: 'create_snapshots',
  summary: 'Create vDisk snapshots',
  params: z.object({ vdisk_guids: guidList, metadata: snapshotMetadata }).strict(),
  owner: fanOut,
  async handler(p, { services: s }) {
    const out: Record<string, [boolean, string]> = {};
    await Promise.all(p.vdisk_guids.map(async (g) => {
      try {
        out[g] = [true, String(await s.call('vdisk.create_snapshot', { vdisk_guid: g, metadata: p.metadata }))];
      } catch (e) {
        out[g] = [false, messageOf(e)];
      }
    }));
    return out;
  },
});

export const deleteSnapshots = defineTask({
  module,
  name: 'delete_snapshots',
  summary: 'Delete vDisk snapshots',
  params: z.object({ snapshot_mapping: snapshotMapping }).strict(),
  owner: fanOut,
  async handler(p, { services: s }) {
    const out: Record<string, unknown> = {};
    for (const [g, value] of Object.entries(p.snapshot_mapping)) {
      const ids = Array.isArray(value) ? value : [value];
      const results: Record<string, [boolean, string]> = {};
      for (const id of ids) {
        try {
          await s.call('vdisk.delete_snapshot', { vdisk_guid: g, snapshot_id: id });
          results[id] = [true, id];
        } catch (e) {
          results[id] = [false, messageOf(e)];
        }
      }
      const success = Object.values(results).every(([ok]) => ok);
      // A single id (not a list) asks for the legacy result: [ok, id or message] of that snapshot.
      out[g] = Array.isArray(value) ? { success, error: success ? null : 'one or more snapshots could not be deleted', results } : results[value];
    }
    return out;
  },
});

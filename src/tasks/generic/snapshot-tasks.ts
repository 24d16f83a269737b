import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { RetentionError } from '../../errors.js';
import { DEFAULT_RETENTION, planRetention, type RetentionPolicy, type RetentionSnapshot } from '../../policies/snapshot-retention.js';
import type { AgentServices } from '../../agent-services.js';
import type { ModelObject } from '../../model/schema.js';
import { readSnapshotMetadata } from '../../storagedriver/snapshot-metadata.js';
import { defineTask } from '../define.js';
import { guid, timestamp } from '../params.js';

const module = 'generic';

/** Runs `fn` over items with at most `width` at once (vDisks are independent; each one's own tasks stay ordered). */
async function fanOut<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

/** Policy of a vDisk: its own, else its vPool's, else the cluster's, else the original's (config keys). */
async function policyOf(s: AgentServices, vdisk: ModelObject): Promise<RetentionPolicy> {
  for (const key of [`/ovs/vdisks/${vdisk.guid}/snapshot_retention_policy`, `/ovs/vpools/${String(vdisk.vpool_guid)}/snapshot_retention_policy`, '/ovs/framework/snapshot_retention_policy']) {
    const p = await s.config.get<RetentionPolicy>(key);
    if (p && Array.isArray(p.rules)) return p;
  }
  return DEFAULT_RETENTION;
}

export const snapshotAllVdisks = defineTask({
  module,
  name: 'snapshot_all_vdisks',
  summary: 'Snapshots all vDisks',
  params: z.object({}).strict(),
  owner: { kind: 'cluster' },
  // Also discarded while delete_snapshots runs (same cluster owner), which holds its turn until its group is done.
  ensureSingle: { mode: 'DEFAULT', extraTaskNames: ['generic.delete_snapshots'] },
  async handler(_p, { services: s, progress }) {
    const success: string[] = [];
    const fail: string[] = [];
    const vdisks = s.view.list('vdisk').filter((v) => !v.is_vtemplate);
    let lastReport = 0;
    await fanOut(vdisks, 16, async (v) => {
      const done = success.length + fail.length;
      if (done - lastReport >= Math.max(1, vdisks.length / 50)) {
        lastReport = done;
        progress(done / vdisks.length, `${done} of ${vdisks.length} vDisks`);
      }
      const metadata = { label: '', is_consistent: false, timestamp: String(Math.floor(Date.now() / 1000)), is_automatic: true, is_sticky: false };
      try {
        await s.call('vdisk.create_snapshot', { vdisk_guid: v.guid, metadata });
        success.push(v.guid);
      } catch {
        fail.push(v.guid);
      }
    });
    return [success, fail];
  },
});

export const deleteSnapshotsStoragedriver = defineTask({
  module,
  name: 'delete_snapshots_storagedriver',
  summary: 'Delete snapshots per storagedriver & scrubbing policy',
  params: z.object({ storagedriver_guid: guid, timestamp: timestamp.nullable().optional(), group_id: guid.nullable().optional() }).strict(),
  // Runs at the StorageDriver (it reads every snapshot of its volumes), one per StorageDriver at a time.
  owner: { kind: 'storagedriver', param: 'storagedriver_guid' },
  ensureSingle: { mode: 'DEDUPED' },
  async handler(p, { services: s, owner: host, log, progress }) {
    const now = p.timestamp ?? Date.now() / 1000;
    const offset = -new Date(now * 1000).getTimezoneOffset();
    const cloneSources = new Set(s.view.list('vdisk').map((v) => v.parentsnapshot).filter((x): x is string => typeof x === 'string'));
    const problems: string[] = [];
    let deleted = 0;
    const vdisks = s.view.list('vdisk', { storagedriver_guid: p.storagedriver_guid });
    for (const [i, vdisk] of vdisks.entries()) {
      progress(i / vdisks.length, `vDisk ${i + 1} of ${vdisks.length}`);
      if (vdisk.is_vtemplate || (vdisk.scrubbing_information as { ongoing?: boolean } | null)?.ongoing) continue;
      const volumeId = String(vdisk.volume_id);
      const snaps: RetentionSnapshot[] = host.driver.list_snapshots({ volume_id: volumeId }).map((id) => {
        const info = host.driver.info_snapshot({ volume_id: volumeId, snapshot_id: id });
        const m = readSnapshotMetadata(host.driver, volumeId, id);
        const ts = Number(m.timestamp);
        return { id, timestamp: Number.isFinite(ts) ? ts : Date.parse(info.timestamp) / 1000, is_consistent: m.is_consistent === true, is_sticky: m.is_sticky === true, is_clone_parent: cloneSources.has(id) };
      });
      const { remove } = planRetention(snaps, now, await policyOf(s, vdisk), offset);
      // Young to old, one at a time; the first failure stops this vDisk only.
      for (const id of [...remove].sort((a, b) => snaps.find((x) => x.id === b)!.timestamp - snaps.find((x) => x.id === a)!.timestamp)) {
        try {
          await s.call('vdisk.delete_snapshot', { vdisk_guid: vdisk.guid, snapshot_id: id });
          deleted++;
        } catch (e) {
          problems.push(`${String(vdisk.name)}: ${(e as Error).message}`);
          break;
        }
      }
    }
    log.info({ deleted, problems: problems.length }, 'snapshot retention applied');
    if (problems.length > 0) throw new RetentionError(problems);
    return { deleted };
  },
});

export const deleteSnapshots = defineTask({
  module,
  name: 'delete_snapshots',
  summary: 'Delete snapshots based on the retention policy',
  params: z.object({ timestamp: timestamp.nullable().optional() }).strict(),
  owner: { kind: 'cluster' },
  ensureSingle: { mode: 'DEFAULT' },
  // The run, and so its DEFAULT registration, lasts until every member of the group has finished: the original
  // returned at once, which dropped its lock within milliseconds and let retention overlap scheduled snapshots
  // (spec §4.2, §11). Callers that do not want to wait start it with Ovs-Async.
  async handler(p, { services: s, log }) {
    const groupId = randomUUID();
    const sds = s.view.list('storagedriver');
    const member = async (sd: ModelObject, taskId: string): Promise<GroupMember> => {
      const run = s.call('generic.delete_snapshots_storagedriver', { storagedriver_guid: sd.guid, timestamp: p.timestamp ?? null, group_id: groupId });
      // Each member's outcome is also kept under its own task id, as the original's group members were.
      s.spawn('generic.delete_snapshots_storagedriver', () => run, taskId).catch((err: unknown) => log.warn({ err, task_id: taskId }, 'group member outcome not kept'));
      try {
        await run;
        return { storagedriver_guid: sd.guid, task_id: taskId, ok: true };
      } catch (e) {
        return { storagedriver_guid: sd.guid, task_id: taskId, ok: false, error: (e as Error).message };
      }
    };
    const taskIds = sds.map((sd) => `${groupId}-${sd.guid.slice(0, 8)}`);
    const group = Promise.all(sds.map((sd, i) => member(sd, taskIds[i]!))).then((members) => ({
      group_id: groupId,
      task_ids: taskIds,
      storagedrivers: sds.length,
      failed: members.filter((m) => !m.ok),
    }));
    s.spawn('generic.delete_snapshots', () => group, groupId).catch((err: unknown) => log.warn({ err, group_id: groupId }, 'group outcome not kept'));
    return group;
  },
});

interface GroupMember {
  storagedriver_guid: string;
  task_id: string;
  ok: boolean;
  error?: string;
}

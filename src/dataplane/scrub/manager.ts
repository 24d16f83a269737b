import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Backend } from '../backend/backend.js';
import { Mutex } from '../common/locks.js';
import type { Registry } from '../driver/registry.js';
import type { SnapshotsFile } from '../snapshots/types.js';
import type { Volume } from '../volume/volume.js';
import { faults } from '../../testmode/faults.js';
import { applyToClone, applyToOwner, loadResult } from './apply.js';
import { ScrubLeases } from './lease.js';
import { scrub } from './scrubber.js';
import { modifyKey, type ScrubStore } from './store.js';
import { garbageOf, type ScrubReply, type ScrubWork } from './types.js';

export const JOB_PREFIX = 'scrub.job.';
export const LAST_PREFIX = 'scrub.last.';

/** A result applied to its volume whose clones may still need it, and the garbage it leaves (`scrub.job.<id>`). */
export interface ScrubJob {
  jobId: string;
  ns: string;
  volumeId: string;
  snapshot: string;
  resultName: string;
  /** clone id → its clone depth below the scrubbed volume, and whether it applied the relocations. */
  clones: Record<string, { depth: number; done: boolean }>;
  garbage: string[];
  /** Epoch ms when the last volume applied; garbage goes `graceMs` later (reads in flight may use old locations). */
  allAppliedAt: number | null;
}

export interface ScrubSettings {
  /** Delay between the last apply and deleting the garbage (default 60 s). */
  graceMs: number;
  /** How often a driver looks for jobs of volumes it owns (default 5 s). */
  pollMs: number;
  leaseTtlMs: number;
  /** How long snapshot deletion (and a second scrub) waits for a held lease (default 30 s). */
  leaseWaitMs: number;
  now: () => number;
}

export const DEFAULT_SCRUB_SETTINGS: ScrubSettings = { graceMs: 15_000, pollMs: 5_000, leaseTtlMs: 30_000, leaseWaitMs: 30_000, now: Date.now };

export interface ScrubManagerDeps {
  nodeId: string;
  backend: Backend;
  registry: Registry;
  store: ScrubStore;
  /** The volume when it runs on this driver. */
  running: (id: string) => Volume | undefined;
  scratchDir: string;
  log: Logger;
  settings?: Partial<ScrubSettings>;
}

/**
 * The ScrubManager of one driver (A16, C9). Jobs live in the vPool's registry, so the clone of a scrubbed volume
 * gets its relocations from whichever driver owns it: each driver polls the jobs and applies those for volumes it
 * runs. The driver running the scrubbed volume deletes the garbage once every volume applied and the grace passed.
 */
export class ScrubManager {
  readonly settings: ScrubSettings;
  readonly leases: ScrubLeases;
  private readonly ticking = new Mutex();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly d: ScrubManagerDeps) {
    this.settings = { ...DEFAULT_SCRUB_SETTINGS, ...d.settings };
    this.leases = new ScrubLeases(d.store, d.nodeId, { ttlMs: this.settings.leaseTtlMs, waitMs: this.settings.leaseWaitMs, pollMs: Math.min(200, this.settings.leaseTtlMs / 4), now: this.settings.now });
  }

  start(): void {
    this.timer ??= setInterval(() => void this.tick().catch((e: unknown) => this.d.log.warn({ err: e }, 'scrub manager round failed')), this.settings.pollMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** `scrub` under the volume's lease, on this driver's backend, staging in this driver's scratch directory. */
  scrub(work: ScrubWork): Promise<ScrubReply> {
    return this.leases.with(work.volumeId, () => scrub(work, this.d.backend, join(this.d.scratchDir, work.volumeId)));
  }

  /** Owner side: applies to the volume, then queues its clones; garbage waits for them and the grace delay. */
  async apply(v: Volume, resultName: string): Promise<{ applied: boolean; reason?: string; relocations: number; clones_pending: number }> {
    const outcome = await this.leases.with(v.id, async () => {
      const r = await loadResult(v.backend, v.ns, resultName);
      const own = await applyToOwner(v, r, resultName);
      if (!own.applied) return { ...own, clones: {} };
      const clones = cloneTargets(this.d.registry, v.id, v.doc, r.snapshot);
      const job: ScrubJob = {
        jobId: randomUUID(), ns: v.ns, volumeId: v.id, snapshot: r.snapshot, resultName, clones, garbage: garbageOf(r, resultName),
        allAppliedAt: Object.keys(clones).length === 0 ? this.settings.now() : null,
      };
      await modifyKey<ScrubJob>(this.d.store, JOB_PREFIX + job.jobId, () => job);
      await modifyKey<string>(this.d.store, LAST_PREFIX + v.id, () => new Date(this.settings.now()).toISOString());
      // No current or snapshot location points into an SCO without live clusters (clones see only live ones of
      // their parent's interval), so no grace applies to those; the rest waits for clones and in-flight reads.
      for (const name of r.emptyScos ?? []) {
        await v.backend.delete(v.ns, name, { fence: v.fence, mayNotExist: true }).catch((e: unknown) => this.d.log.warn({ err: e, volume_id: v.id, sco: name }, 'could not delete an empty SCO now; the garbage collection does'));
      }
      return { ...own, clones };
    });
    if (outcome.applied) void this.tick().catch((e: unknown) => this.d.log.warn({ err: e }, 'scrub manager round failed'));
    return { applied: outcome.applied, ...(outcome.reason ? { reason: outcome.reason } : {}), relocations: outcome.relocations, clones_pending: Object.keys(outcome.clones).length };
  }

  async state(volumeId: string): Promise<{ last_scrub: string | null; running: boolean }> {
    const last = await this.d.store.get<string>(LAST_PREFIX + volumeId);
    return { last_scrub: last?.value ?? null, running: (await this.leases.holder(volumeId)) !== undefined };
  }

  /** One round: apply pending clone work for volumes running here, then collect garbage that is due. */
  tick(): Promise<void> {
    return this.ticking.run(async () => {
      for (const key of await this.d.store.keys(JOB_PREFIX)) {
        const job = (await this.d.store.get<ScrubJob>(key))?.value;
        if (!job) continue;
        try {
          await this.applyClones(key, job);
          await this.collect(key);
        } catch (e) {
          this.d.log.warn({ err: e, job: job.jobId, volume_id: job.volumeId }, 'scrub job step failed; retried next round');
        }
      }
    });
  }

  private async applyClones(key: string, job: ScrubJob): Promise<void> {
    for (const [id, c] of Object.entries(job.clones)) {
      if (c.done) continue;
      const reg = this.d.registry.find(id);
      const v = this.d.running(id);
      if (reg && (reg.node_id !== this.d.nodeId || !v)) continue;
      // A clone unregistered meanwhile has no table left to fix.
      if (reg && v) {
        const r = await loadResult(this.d.backend, job.ns, job.resultName);
        const n = await this.leases.with(id, () => applyToClone(v, r, c.depth));
        this.d.log.info({ volume_id: id, scrubbed: job.volumeId, relocations: n }, 'scrub relocations applied to clone');
      }
      await modifyKey<ScrubJob>(this.d.store, key, (cur) => {
        if (!cur?.clones[id] || cur.clones[id].done) return undefined;
        cur.clones[id].done = true;
        if (Object.values(cur.clones).every((x) => x.done)) cur.allAppliedAt = this.settings.now();
        return cur;
      });
    }
  }

  private async collect(key: string): Promise<void> {
    const job = (await this.d.store.get<ScrubJob>(key))?.value;
    if (!job || job.allAppliedAt === null || this.settings.now() < job.allAppliedAt + this.settings.graceMs) return;
    const v = this.d.running(job.volumeId);
    if (!v || this.d.registry.find(job.volumeId)?.node_id !== this.d.nodeId) return;
    faults.hit('scrub.step', `gc:${job.volumeId}`);
    v.checkUsable();
    for (const name of job.garbage) await this.d.backend.delete(job.ns, name, { fence: v.fence, mayNotExist: true });
    await this.d.store.delete(key);
    this.d.log.info({ volume_id: job.volumeId, snapshot: job.snapshot, objects: job.garbage.length }, 'scrub garbage deleted');
  }

  /** Jobs not finished yet (garbage still there), for tests and operator views. */
  async pendingJobs(): Promise<ScrubJob[]> {
    const out: ScrubJob[] = [];
    for (const key of await this.d.store.keys(JOB_PREFIX)) {
      const j = await this.d.store.get<ScrubJob>(key);
      if (j) out.push(j.value);
    }
    return out;
  }
}

/**
 * Clones whose parent snapshot is the scrubbed one or younger hold the scrubbed locations (with clone id 1), and all
 * their own descendants too, one level deeper each (A16 step 2).
 */
export function cloneTargets(registry: Registry, volumeId: string, doc: SnapshotsFile, snapshot: string): Record<string, { depth: number; done: boolean }> {
  const out: Record<string, { depth: number; done: boolean }> = {};
  const rank = doc.snapshots.find((s) => s.name === snapshot)?.num ?? 0;
  const walk = (id: string, depth: number): void => {
    if (out[id] || depth > 255) return;
    out[id] = { depth, done: false };
    for (const child of Object.keys(registry.find(id)?.descendants ?? {})) walk(child, depth + 1);
  };
  for (const [child, snap] of Object.entries(registry.find(volumeId)?.descendants ?? {})) {
    const s = snap === null ? undefined : doc.snapshots.find((x) => x.name === snap);
    if (!s || s.num >= rank) walk(child, 1);
  }
  return out;
}

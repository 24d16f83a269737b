import { z } from 'zod';
import type { AgentServices } from '../../agent-services.js';
import { asOvsError, NoScrubLocationsError, ScrubFailedError, ValidationError, type ScrubFailure } from '../../errors.js';
import type { ModelObject } from '../../model/schema.js';
import { divideScrubWork, type ScrubCandidate, type ScrubNode } from '../../policies/scrub-division.js';
import { answeringStorageDrivers } from '../storagedriver/answering.js';
import { defineTask } from '../define.js';
import { guid, guidList } from '../params.js';

const module = 'generic';
/** How long a vDisk's `scrubbing_information` says "ongoing" without a refresh (the original's 30 s, refreshed every 5 s). */
const ONGOING_TTL_S = 30;
const REFRESH_MS = 5_000;
const RUNS_KEPT = 5;

/** What one vDisk's scrub did (also kept in its `scrubbing_information`). */
export interface VdiskScrubOutcome {
  vdisk_guid: string;
  vpool_guid: string;
  storagerouter_guid: string;
  units: number;
  applied: number;
  relocations: number;
  bytes_reclaimed: number;
  /** Units scrubbed but refused by the owner (the snapshot went or changed meanwhile); their new objects were deleted. */
  not_applied: Array<{ snapshot: string; reason: string }>;
}

/** Per vPool, what the last execute_scrub did there: config `/ovs/vpools/<guid>/scrub/last_run`. */
export interface VpoolScrubRun {
  job_id: string;
  started: number;
  finished: number;
  vdisks_scrubbed: number;
  vdisks_failed: number;
  units: number;
  relocations: number;
  bytes_reclaimed: number;
}

export function scrubRunKey(vpoolGuid: string): string {
  return `/ovs/vpools/${vpoolGuid}/scrub/last_run`;
}

/** The scrub node's agent stopped answering: its vDisks go to the other nodes. */
class ScrubNodeLost extends Error {}

export const executeScrub = defineTask({
  module,
  name: 'execute_scrub',
  summary: 'Divide the scrub work among all StorageRouters with a SCRUB partition',
  params: z
    .object({
      vpool_guids: guidList.nullable().optional(),
      vdisk_guids: guidList.nullable().optional(),
      storagerouter_guid: guid.nullable().optional(),
      manual: z.boolean().optional(),
    })
    .strict(),
  owner: { kind: 'cluster' },
  ensureSingle: { mode: 'DEDUPED' },
  async handler(p, { services: s, taskId, log, progress }) {
    const started = Date.now();
    const vdisks = vdisksToScrub(s, p.vpool_guids ?? [], p.vdisk_guids ?? [], p.manual ?? false, log);
    const nodes = await scrubNodes(s, p.storagerouter_guid ?? null, new Set(vdisks.map((v) => String(v.vpool_guid))));
    const byGuid = new Map(vdisks.map((v) => [v.guid, v]));
    const failures: ScrubFailure[] = [];
    const done: VdiskScrubOutcome[] = [];
    const fail = (v: ModelObject, error: string) => failures.push({ vdisk_guid: v.guid, name: String(v.name), error });
    const report = () => progress((done.length + failures.length) / Math.max(1, vdisks.length), `${done.length + failures.length} of ${vdisks.length} vDisks`);

    const live = new Map(nodes.map((n) => [n.storagerouterGuid, n]));
    const queues = new Map<string, ScrubCandidate[]>();
    const workers: Promise<void>[] = [];
    const give = (work: readonly ScrubCandidate[]) => {
      const division = divideScrubWork(work, [...live.values()]);
      for (const v of division.unassigned) fail(byGuid.get(v.vdiskGuid)!, `no answering StorageRouter with a SCRUB partition serves vPool ${v.vpoolGuid}`);
      for (const [sr, list] of division.assignments) {
        const queue = queues.get(sr);
        if (queue) queue.push(...list);
        else {
          queues.set(sr, [...list]);
          workers.push(runNode(sr));
        }
      }
    };
    // One worker per scrub node: its vDisks one at a time; when the node is lost, the rest is divided anew.
    const runNode = async (sr: string): Promise<void> => {
      const queue = queues.get(sr)!;
      for (let next = queue.shift(); next; next = queue.shift()) {
        const vdisk = byGuid.get(next.vdiskGuid)!;
        const node = live.get(sr)!;
        try {
          done.push(await scrubVdisk(s, vdisk, node.storagedrivers[next.vpoolGuid]!, sr, taskId));
        } catch (e) {
          if (e instanceof ScrubNodeLost) {
            log.warn({ storagerouter_guid: sr, err: e }, 'scrub node stopped answering; its vDisks go to the others');
            live.delete(sr);
            queues.delete(sr);
            give([next, ...queue]);
            return;
          }
          fail(vdisk, asOvsError(e).message);
          log.error({ err: e, vdisk_guid: vdisk.guid }, 'scrubbing failed');
        }
        report();
      }
      queues.delete(sr);
    };
    give(vdisks.map((v) => ({ vdiskGuid: v.guid, vpoolGuid: String(v.vpool_guid) })));
    // A lost node adds workers while the others run: wait until no new ones appeared.
    for (let awaited = 0; awaited < workers.length; ) {
      const n = workers.length;
      await Promise.all(workers);
      awaited = n;
    }

    await recordRuns(s, taskId, started, vdisks, done, failures);
    const summary = { job_id: taskId, scrubbed: done.length, vdisks: done, storagerouters: nodes.filter((n) => n.answering).map((n) => n.storagerouterGuid) };
    log.info({ scrubbed: done.length, failed: failures.length }, 'scrub finished');
    if (failures.length > 0) throw new ScrubFailedError(failures, done.length);
    return summary;
  },
});

/** Which vDisks (spec §4.4 step 2): manual → the given vPools' and vDisks'; automatic → all; templates and unowned skipped. */
function vdisksToScrub(s: AgentServices, vpoolGuids: string[], vdiskGuids: string[], manual: boolean, log: { warn(o: object, m: string): void }): ModelObject[] {
  if (!manual && (vpoolGuids.length > 0 || vdiskGuids.length > 0)) {
    throw new ValidationError('when specifying vDisks or vPools, "manual" must be true', [{ path: 'manual', message: 'must be true when vpool_guids or vdisk_guids are given' }]);
  }
  const chosen = new Map<string, ModelObject>();
  const vpools = manual ? vpoolGuids.map((g) => s.view.get('vpool', g)) : s.view.list('vpool');
  for (const vpool of vpools) for (const v of s.view.list('vdisk', { vpool_guid: vpool.guid })) chosen.set(v.guid, v);
  for (const g of vdiskGuids) {
    const v = s.view.find('vdisk', g);
    if (v) chosen.set(g, v);
    else log.warn({ vdisk_guid: g }, 'vDisk to scrub does not exist; skipped');
  }
  return [...chosen.values()].filter((v) => !v.is_vtemplate && typeof v.storagedriver_guid === 'string');
}

/** StorageRouters with a SCRUB partition (or only the given one), each with its StorageDrivers that answer now. */
async function scrubNodes(s: AgentServices, only: string | null, vpools: ReadonlySet<string>): Promise<ScrubNode[]> {
  const hasScrubRole = (sr: string) =>
    s.view.reverse('storagerouter', sr, 'disks').some((d) => s.view.reverse('disk', d.guid, 'partitions').some((p) => ((p.roles as string[] | undefined) ?? []).includes('SCRUB')));
  const srs = (only ? [s.view.get('storagerouter', only)] : s.view.list('storagerouter')).filter((sr) => hasScrubRole(sr.guid));
  if (srs.length === 0) throw new NoScrubLocationsError(only);
  srs.sort((a, b) => String(a.ip).localeCompare(String(b.ip), undefined, { numeric: true }));
  const sds = s.view.list('storagedriver').filter((sd) => vpools.has(String(sd.vpool_guid)) && srs.some((sr) => sr.guid === sd.storagerouter_guid));
  const answering = await answeringStorageDrivers(s, sds);
  return srs.map((sr) => {
    const mine = sds.filter((sd) => sd.storagerouter_guid === sr.guid && answering.has(sd.guid));
    return { storagerouterGuid: sr.guid, answering: mine.length > 0, storagedrivers: Object.fromEntries(mine.map((sd) => [String(sd.vpool_guid), sd.guid])) };
  });
}

/**
 * One vDisk: work units from the owner, each scrubbed on the scrub node's StorageDriver and applied by the owner,
 * then the MDS safety (the scrubber is one of ensure_safety's callers). `scrubbing_information` says "ongoing" while
 * it runs, so snapshot retention leaves the vDisk alone.
 */
async function scrubVdisk(s: AgentServices, vdisk: ModelObject, scrubSd: string, sr: string, jobId: string): Promise<VdiskScrubOutcome> {
  const volumeId = String(vdisk.volume_id);
  const owner = s.voldrv(String(vdisk.storagedriver_guid));
  const outcome: VdiskScrubOutcome = { vdisk_guid: vdisk.guid, vpool_guid: String(vdisk.vpool_guid), storagerouter_guid: sr, units: 0, applied: 0, relocations: 0, bytes_reclaimed: 0, not_applied: [] };
  const startTime = Date.now() / 1000;
  const ongoing = () => markScrubbing(s, vdisk.guid, { job_id: jobId, ongoing: true, expires: Date.now() / 1000 + ONGOING_TTL_S, start_time: startTime, location: { storagerouter_guid: sr } });
  await ongoing();
  const refresher = setInterval(() => void ongoing().catch(() => undefined), REFRESH_MS);
  let error: unknown;
  try {
    const units = await owner.get_scrubbing_workunits({ volume_id: volumeId });
    outcome.units = units.length;
    for (const work of units) {
      let reply;
      try {
        reply = await s.voldrv(scrubSd).scrub({ work });
      } catch (e) {
        const type = asOvsError(e).type;
        if (type === 'NOT_AVAILABLE' || type === 'DEADLINE_EXCEEDED') throw new ScrubNodeLost(asOvsError(e).message);
        throw e;
      }
      const applied = await owner.apply_scrubbing_result({ volume_id: volumeId, result_name: reply.resultName });
      if (applied.applied) {
        outcome.applied++;
        outcome.relocations += applied.relocations;
        outcome.bytes_reclaimed += reply.bytesReclaimed;
      } else {
        outcome.not_applied.push({ snapshot: work.snapshot, reason: applied.reason ?? 'refused by the owner' });
      }
    }
    await ensureSafety(s, vdisk.guid);
    return outcome;
  } catch (e) {
    error = e;
    throw e;
  } finally {
    clearInterval(refresher);
    const lost = error instanceof ScrubNodeLost;
    await finishScrubbing(s, vdisk.guid, startTime, lost ? undefined : error, outcome).catch(() => undefined);
  }
}

/** The MDS safety after a scrub; tolerated while the MDS tasks are still pending. */
async function ensureSafety(s: AgentServices, vdiskGuid: string): Promise<void> {
  try {
    await s.call('mds.ensure_safety', { vdisk_guid: vdiskGuid });
  } catch (e) {
    if (asOvsError(e).type !== 'NOT_IMPLEMENTED') throw e;
  }
}

async function markScrubbing(s: AgentServices, vdiskGuid: string, info: Record<string, unknown>): Promise<void> {
  await s.store.update('vdisk', vdiskGuid, (v) => {
    v.scrubbing_information = { ...(v.scrubbing_information ?? {}), ...info };
  });
}

/** Ends the "ongoing" mark; a lost node's vDisk is marked again by the node that takes it over. */
async function finishScrubbing(s: AgentServices, vdiskGuid: string, startTime: number, error: unknown, outcome: VdiskScrubOutcome): Promise<void> {
  await s.store.update('vdisk', vdiskGuid, (v) => {
    const info = (v.scrubbing_information as Record<string, unknown> | null) ?? {};
    const run = { start_time: startTime, end_time: Date.now() / 1000, exception: error === undefined ? null : asOvsError(error).message, ...outcome };
    const history = error === undefined ? 'previous_successful_runs' : 'previous_failed_runs';
    const previous = Array.isArray(info[history]) ? (info[history] as unknown[]) : [];
    v.scrubbing_information = { ...info, ongoing: false, expires: null, job_id: null, location: null, ...run, [history]: [run, ...previous].slice(0, RUNS_KEPT) };
  });
}

/** Per vPool, the outcome of this run, for operators (`ovs config get /ovs/vpools/<guid>/scrub/last_run`). */
async function recordRuns(s: AgentServices, jobId: string, started: number, vdisks: ModelObject[], done: VdiskScrubOutcome[], failures: ScrubFailure[]): Promise<void> {
  const failed = new Set(failures.map((f) => f.vdisk_guid));
  for (const vpool of new Set(vdisks.map((v) => String(v.vpool_guid)))) {
    const mine = done.filter((d) => d.vpool_guid === vpool);
    const run: VpoolScrubRun = {
      job_id: jobId,
      started,
      finished: Date.now(),
      vdisks_scrubbed: mine.length,
      vdisks_failed: vdisks.filter((v) => v.vpool_guid === vpool && failed.has(v.guid)).length,
      units: mine.reduce((n, d) => n + d.units, 0),
      relocations: mine.reduce((n, d) => n + d.relocations, 0),
      bytes_reclaimed: mine.reduce((n, d) => n + d.bytes_reclaimed, 0),
    };
    await s.config.set(scrubRunKey(vpool), run);
  }
}

import { mdsServicesOn } from '../../storagedriver/mds-model.js';
import { removeMdsService } from '../mds/mds-services.js';
import type { Logger } from 'pino';
import { z } from 'zod';
import { LinkedObjectError, StorageDriverInUseError, VpoolError } from '../../errors.js';
import { decode } from '../../protocol/codec.js';
import { opsSubject } from '../../protocol/subjects.js';
import { sleep } from '../../supervisors/backoff.js';
import { defineTask } from '../define.js';
import { guid, guidList } from '../params.js';
import type { AgentServices } from '../../agent-services.js';
import type { ConfigStore } from '../../config/store.js';
import type { ModelObject } from '../../model/schema.js';

const REACH_TIMEOUT_MS = 1_000;
const STOP_TIMEOUT_MS = 30_000;

async function answers(s: AgentServices, srGuid: string): Promise<boolean> {
  return s.nc.request(opsSubject(srGuid, 'info'), new Uint8Array(), { timeout: REACH_TIMEOUT_MS }).then(() => true, () => false);
}

/**
 * The StorageRouters of the vPool that do not answer must be exactly the ones the caller declared offline (spec §5.2
 * step 2), so a node that is merely unreachable is never cleaned up behind its back. Declared guids that serve no
 * StorageDriver of the vPool do not matter for this vPool.
 */
async function offlineMembers(s: AgentServices, vpool: ModelObject, declared: ReadonlySet<string>): Promise<Set<string>> {
  const members = [...new Set(s.view.list('storagedriver', { vpool_guid: vpool.guid }).map((sd) => String(sd.storagerouter_guid)))];
  const reachable = await Promise.all(members.map((sr) => answers(s, sr)));
  const down = new Set(members.filter((_, i) => !reachable[i]));
  const undeclared = [...down].filter((sr) => !declared.has(sr));
  // Not NOT_AVAILABLE: the invocation path would take that for a cluster lease on the move and retry it.
  if (undeclared.length > 0) {
    throw new VpoolError(`StorageRouter(s) ${undeclared.join(', ')} of vPool ${String(vpool.name)} do not answer; name them in offline_storage_router_guids to shrink without them`, { storagerouter_guids: undeclared });
  }
  const answering = members.filter((sr, i) => declared.has(sr) && reachable[i]);
  if (answering.length > 0) throw new VpoolError(`StorageRouter(s) ${answering.join(', ')} are declared offline but answer`, { storagerouter_guids: answering });
  return down;
}

const named = (v: ModelObject): { guid: string; name: string } => ({ guid: v.guid, name: String(v.name ?? v.devicename) });

/** Refuses, before anything changes, while the StorageDriver (or, for the last one, the vPool) is still in use. */
function refuseWhileInUse(s: AgentServices, sd: ModelObject, vpool: ModelObject, last: boolean): void {
  const owned = s.view.list('vdisk', { storagedriver_guid: sd.guid });
  if (owned.length > 0) throw new StorageDriverInUseError(sd.guid, owned.map(named));
  if (!last) return;
  const vdisks = s.view.list('vdisk', { vpool_guid: vpool.guid });
  if (vdisks.length > 0) throw new StorageDriverInUseError(sd.guid, vdisks.map(named));
  for (const ref of s.view.typesReferring('vpool')) {
    // The StorageDriver itself and its node's MDS services go with it.
    const goes = new Set([sd.guid, ...mdsServicesOn(s.view, vpool.guid, String(sd.storagerouter_guid)).map((m) => m.guid)]);
    const others = s.view.reverse('vpool', vpool.guid, ref.reverse).filter((o) => !goes.has(o.guid));
    if (others.length > 0) throw new VpoolError(`vPool ${String(vpool.name)} still has ${others.length} ${ref.reverse}`, { vpool_guid: vpool.guid, [ref.reverse]: others.map((o) => o.guid) });
  }
}

async function setStatus(s: AgentServices, vpool: ModelObject, from: string, to: string): Promise<void> {
  await s.store.update('vpool', vpool.guid, (v) => {
    if (v.status !== from) throw new VpoolError(`vPool ${String(vpool.name)} is ${String(v.status)}, not ${from}`, { vpool_guid: vpool.guid });
    v.status = to;
  });
}

async function deleteConfigTree(config: ConfigStore, path: string): Promise<void> {
  for (const child of await config.list(path)) await deleteConfigTree(config, `${path}/${child}`);
  if (await config.exists(path)) await config.delete(path);
}

/** The node's agent follows the model: its StorageDriver actor (volume driver and NBD listener) leaves its tree. */
async function waitStopped(s: AgentServices, sd: ModelObject, vpoolName: string, deadline: number): Promise<boolean> {
  const srGuid = String(sd.storagerouter_guid);
  const actor = `storagedriver:${vpoolName}@${srGuid}`;
  const until = Math.min(Date.now() + STOP_TIMEOUT_MS, deadline - 500);
  while (Date.now() < until) {
    const reply = await s.nc.request(opsSubject(srGuid, 'tree'), new Uint8Array(), { timeout: REACH_TIMEOUT_MS }).catch(() => undefined);
    const tree = reply ? (decode(reply.data) as { result?: Array<{ path: string }> }).result : undefined;
    if (tree && !tree.some((a) => a.path.split('/').includes(actor))) return true;
    await sleep(100);
  }
  return false;
}

const CHECKUP_TIMEOUT_MS = 600_000;

/** A vPool-wide DTL checkup (spec §5.2 step 10): its failure is logged, never the shrink's failure. */
async function dtlCheckup(s: AgentServices, log: Logger, vpoolGuid: string, exclude: readonly string[]): Promise<void> {
  const params = { vpool_guid: vpoolGuid, ...(exclude.length > 0 ? { storagerouters_to_exclude: [...exclude] } : {}) };
  await s.call('vdisk.dtl_checkup', params, Date.now() + CHECKUP_TIMEOUT_MS).catch((err: unknown) => log.warn({ err, vpool_guid: vpoolGuid }, 'DTL checkup while shrinking the vPool had errors'));
}

/** Deletes the StorageDriver and what hangs on it; a vDisk that arrived since the check makes it refuse after all. */
async function removeStorageDriver(s: AgentServices, sd: ModelObject): Promise<void> {
  for (const part of s.view.list('storagedriverpartition', { storagedriver_guid: sd.guid })) await s.store.delete('storagedriverpartition', part.guid);
  try {
    await s.store.delete('storagedriver', sd.guid);
  } catch (e) {
    if (e instanceof LinkedObjectError) throw new StorageDriverInUseError(sd.guid, s.view.list('vdisk', { storagedriver_guid: sd.guid }).map(named));
    throw e;
  }
}

/** ensure_safety without this node for every vDisk with an MDS copy on it; failures are logged (its copies then leak). */
async function moveMdsCopiesAway(s: AgentServices, log: Logger, services: ModelObject[], storagerouterGuid: string, deadline: number): Promise<void> {
  const vdisks = new Set(services.flatMap((m) => s.view.list('mdsservicevdisk', { mds_service_guid: m.guid }).map((j) => String(j.vdisk_guid))));
  for (const vdiskGuid of vdisks) {
    await s.call('mds.ensure_safety', { vdisk_guid: vdiskGuid, excluded_storagerouter_guids: [storagerouterGuid] }, deadline)
      .catch((err: unknown) => log.warn({ err, vdisk_guid: vdiskGuid }, 'could not move the MDS copy of a vDisk off the StorageDriver being removed'));
  }
}

export const shrinkVpool = defineTask({
  module: 'vpool',
  name: 'shrink_vpool',
  summary: 'Removes a StorageDriver (if its the last StorageDriver for a vPool, the vPool is removed as well)',
  params: z.object({ storagedriver_guid: guid, offline_storage_router_guids: guidList.nullable().optional() }).strict(),
  owner: { kind: 'cluster' },
  async handler(p, ctx) {
    const s = ctx.services;
    const sd = s.view.get('storagedriver', p.storagedriver_guid);
    const vpool = s.view.get('vpool', String(sd.vpool_guid));
    const vpoolName = String(vpool.name);
    if (vpool.status !== 'RUNNING') throw new VpoolError(`vPool ${vpoolName} is ${String(vpool.status)}, not RUNNING`, { vpool_guid: vpool.guid });
    const offline = await offlineMembers(s, vpool, new Set(p.offline_storage_router_guids ?? []));
    // The model's vDisks decide below; bringing them in line with the volume drivers first is the original's order.
    await s.call('vdisk.sync_with_reality', { vpool_guid: vpool.guid }, ctx.deadline).catch((err: unknown) => ctx.log.warn({ err, vpool_guid: vpool.guid }, 'sync_with_reality before shrinking failed'));
    const last = s.view.list('storagedriver', { vpool_guid: vpool.guid }).length === 1;
    refuseWhileInUse(s, sd, vpool, last);
    await setStatus(s, vpool, 'RUNNING', last ? 'DELETING' : 'SHRINKING');
    // Before the StorageDriver goes: the DTLs it holds move while its DTL server still runs, so the vDisks using it
    // are never without one (the original only checks up afterwards, once they are DEGRADED).
    if (!last) await dtlCheckup(s, ctx.log, vpool.guid, [String(sd.storagerouter_guid)]);
    // Likewise the MDS copies it holds move to the other nodes first (the original's shrink ensures safety excluding it).
    const mdsHere = mdsServicesOn(s.view, vpool.guid, String(sd.storagerouter_guid));
    if (!last) await moveMdsCopiesAway(s, ctx.log, mdsHere, String(sd.storagerouter_guid), ctx.deadline);
    try {
      await removeStorageDriver(s, sd);
    } catch (e) {
      await setStatus(s, vpool, last ? 'DELETING' : 'SHRINKING', 'RUNNING').catch((err: unknown) => ctx.log.warn({ err }, 'could not set the vPool RUNNING again'));
      throw e;
    }
    const nodeOffline = offline.has(String(sd.storagerouter_guid));
    const stopped = nodeOffline ? null : await waitStopped(s, sd, vpoolName, ctx.deadline);
    if (stopped === false) ctx.log.warn({ storagedriver_guid: sd.guid, storagerouter_guid: sd.storagerouter_guid }, 'the StorageDriver left the model but its agent has not stopped it yet');
    for (const mds of mdsHere) {
      await removeMdsService(s, mds, true).catch((err: unknown) => ctx.log.warn({ err, mds_service_guid: mds.guid }, 'could not remove an MDS service of the removed StorageDriver'));
    }
    if (last) {
      await s.store.delete('vpool', vpool.guid);
      await deleteConfigTree(s.config, `/ovs/vpools/${vpool.guid}`);
    } else {
      await deleteConfigTree(s.config, `/ovs/vpools/${vpool.guid}/hosts/${String(sd.storagedriver_id)}`);
      await dtlCheckup(s, ctx.log, vpool.guid, []);
      await setStatus(s, vpool, 'SHRINKING', 'RUNNING');
    }
    return { vpool_guid: vpool.guid, storagedriver_guid: sd.guid, vpool_removed: last, volume_driver_stopped: stopped };
  },
});

import { z } from 'zod';
import type { AgentServices } from '../../agent-services.js';
import { EnsureSingleTimeoutError, MdsError, ValidationError, asOvsError } from '../../errors.js';
import { compareIp } from '../../policies/mds-load.js';
import { servicesToAdd, servicesToRemove, storagedriverConfigSet } from '../../policies/mds-capacity.js';
import { opsSubject } from '../../protocol/subjects.js';
import { domainsOf } from '../../storagedriver/dtl-model.js';
import { sleep } from '../../supervisors/backoff.js';
import { defineTask } from '../define.js';
import { guid, guidList, record } from '../params.js';
import { mdsConfigOf, mdsServiceViews, prepareMdsService, removeMdsService, vpoolMdsServices } from './mds-services.js';

/** Where the default MDS list of each StorageDriver is kept (`filesystem.fs_metadata_backend_mds_nodes`). */
export const mdsNodesKey = (vpoolGuid: string, storagedriverId: string): string => `/ovs/vpools/${vpoolGuid}/hosts/${storagedriverId}/config/filesystem/fs_metadata_backend_mds_nodes`;

async function answering(s: AgentServices, sr: string): Promise<boolean> {
  return s.nc.request(opsSubject(sr, 'info'), new Uint8Array(), { timeout: 1_000 }).then(() => true, () => false);
}

/** StorageRouters whose agent does not answer (the original's SSH probe). */
async function offlineNodes(s: AgentServices): Promise<string[]> {
  const srs = s.view.list('storagerouter');
  const up = await Promise.all(srs.map((sr) => answering(s, sr.guid)));
  return srs.filter((_, i) => !up[i]).map((sr) => sr.guid);
}

/** A node that just came back answers before its volume driver is up: wait a little for it, so it counts. */
async function waitForStorageDrivers(s: AgentServices, vpoolGuid: string, offline: ReadonlySet<string>, deadline: number): Promise<void> {
  const until = Math.min(deadline - 5_000, Date.now() + 30_000);
  for (const sd of s.view.list('storagedriver', { vpool_guid: vpoolGuid })) {
    if (offline.has(String(sd.storagerouter_guid))) continue;
    while (Date.now() < until) {
      const states = await s.voldrv(sd.guid).node_states({}).catch(() => undefined);
      if (states && states[String(sd.storagedriver_id)] !== 'OFFLINE') break;
      await sleep(250);
    }
  }
}

export async function checkupVpool(s: AgentServices, vpoolGuid: string, offline: readonly string[], deadline: number, log: import('pino').Logger): Promise<{ added: string[]; removed: string[]; ensured: number }> {
  const vpool = s.view.get('vpool', vpoolGuid);
  const cfg = await mdsConfigOf(s, vpoolGuid);
  const offlineSet = new Set(offline);
  const added: string[] = [];
  const removed: string[] = [];
  const hostsSd = new Set(s.view.list('storagedriver', { vpool_guid: vpoolGuid }).map((sd) => String(sd.storagerouter_guid)));
  const withServices = new Set(vpoolMdsServices(s, vpoolGuid).map((x) => x.storagerouter));
  const srs = [...new Set([...hostsSd, ...withServices])].map((g) => s.view.get('storagerouter', g)).sort((a, b) => compareIp(String(a.ip), String(b.ip)));
  for (const sr of srs) {
    const mine = vpoolMdsServices(s, vpoolGuid).filter((x) => x.storagerouter === sr.guid).sort((a, b) => Number(a.mds.number) - Number(b.mds.number));
    const withLoad = mine.map((x) => ({ ...x, capacity: Number(x.mds.capacity), junctions: s.view.list('mdsservicevdisk', { mds_service_guid: x.mds.guid }).length }));
    for (const gone of servicesToRemove(withLoad)) {
      await removeMdsService(s, gone.mds, offlineSet.has(sr.guid)).then(() => removed.push(gone.address), (e: unknown) => log.error({ err: e, mds: gone.address }, 'could not remove a decommissioned MDS service'));
    }
    if (offlineSet.has(sr.guid)) continue;
    const toAdd = servicesToAdd(withLoad.filter((x) => !removed.includes(x.address)), cfg.mds_maxload, hostsSd.has(sr.guid));
    for (let i = 0; i < toAdd; i++) {
      await prepareMdsService(s, vpool, sr).then((m) => added.push(m.guid), (e: unknown) => log.error({ err: e, storagerouter_guid: sr.guid }, 'could not add an MDS service'));
    }
  }
  // The default list each StorageDriver gives volumes created on it (§2.7).
  const services = mdsServiceViews(s, vpoolGuid);
  const vpoolSrs = [...hostsSd].map((g) => s.view.get('storagerouter', g)).map((sr) => ({ guid: sr.guid, ip: String(sr.ip), regularDomains: domainsOf(s.view, sr.guid).regular, recoveryDomains: domainsOf(s.view, sr.guid).recovery }));
  const set = storagedriverConfigSet({ vpoolSrs, services, safety: cfg.mds_safety, offline });
  for (const sd of s.view.list('storagedriver', { vpool_guid: vpoolGuid })) {
    const nodes = set[String(sd.storagerouter_guid)];
    if (nodes) await s.config.set(mdsNodesKey(vpoolGuid, String(sd.storagedriver_id)), nodes);
  }
  await waitForStorageDrivers(s, vpoolGuid, offlineSet, deadline);
  const failures: string[] = [];
  let ensured = 0;
  for (const vd of s.view.list('vdisk', { vpool_guid: vpoolGuid })) {
    try {
      await s.call('mds.ensure_safety', { vdisk_guid: vd.guid }, deadline);
      ensured++;
    } catch (e) {
      failures.push(`${String(vd.name)} (${vd.guid}): ${asOvsError(e).message}`);
    }
  }
  if (failures.length > 0) throw new MdsError(`ensure_safety failed for:\n- ${failures.join('\n- ')}`, {});
  return { added, removed, ensured };
}

export const mdsCheckupSingle = defineTask({
  module: 'mds',
  name: 'mds_checkup_single',
  summary: 'Validates the MDS setup/configuration of one vPool and takes actions where required',
  params: z.object({ vpool_guid: guid, mds_dict: record.nullable().optional(), offline_nodes: guidList.nullable().optional() }).strict(),
  owner: { kind: 'vpool', param: 'vpool_guid' },
  ensureSingle: { mode: 'DEDUPED', ignoreArguments: ['mds_dict', 'offline_nodes'] },
  async handler({ vpool_guid, mds_dict, offline_nodes }, { services: s, log, deadline }) {
    s.view.get('vpool', vpool_guid);
    if ((mds_dict == null) !== (offline_nodes == null)) {
      throw new ValidationError('mds_dict and offline_nodes go together', [{ path: 'offline_nodes', message: 'give both mds_dict and offline_nodes, or neither' }]);
    }
    return checkupVpool(s, vpool_guid, offline_nodes ?? (await offlineNodes(s)), deadline, log);
  },
});

export const mdsCheckup = defineTask({
  module: 'mds',
  name: 'mds_checkup',
  summary: 'Validates the current MDS setup/configuration and takes actions where required',
  params: z.object({}).strict(),
  owner: { kind: 'cluster' },
  ensureSingle: { mode: 'CHAINED' },
  async handler(_p, { services: s, log, deadline, progress }) {
    const offline = await offlineNodes(s);
    const vpools = s.view.list('vpool').sort((a, b) => String(a.name).localeCompare(String(b.name)));
    const failures: string[] = [];
    const results: Record<string, unknown> = {};
    for (const [i, vpool] of vpools.entries()) {
      progress(i / Math.max(1, vpools.length), `vPool ${String(vpool.name)}`);
      try {
        results[vpool.guid] = await s.call('mds.mds_checkup_single', { vpool_guid: vpool.guid, mds_dict: {}, offline_nodes: offline }, deadline, { ensureSingleTimeoutMs: 1_000 });
      } catch (e) {
        if (e instanceof EnsureSingleTimeoutError) {
          log.info({ vpool_guid: vpool.guid }, 'MDS checkup of this vPool is already running');
          continue;
        }
        if (e instanceof MdsError) {
          failures.push(e.message);
          continue;
        }
        throw e;
      }
    }
    if (failures.length > 0) throw new MdsError(failures.join('\n'), {});
    return { offline_nodes: offline, vpools: results };
  },
});

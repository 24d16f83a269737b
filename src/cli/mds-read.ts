import type { NatsConnection } from 'nats';
import { request } from '../client.js';
import type { MdsConfigEntry } from '../storagedriver/vdisk-mds-config.js';
import type { VdiskScrubState, VpoolScrubState } from '../model/dynamics/vpool.js';
import { modelSubject } from '../protocol/subjects.js';
import { withNats } from './output.js';
import type { ReadOptions } from './store-read.js';

type Obj = Record<string, unknown> & { guid: string };

const list = (nc: NatsConnection, type: string, filter: Record<string, unknown> = {}): Promise<Obj[]> => request<Obj[]>(nc, modelSubject(type, 'list'), { filter });
const get = <T = Obj>(nc: NatsConnection, type: string, guid: string): Promise<T> => request<T>(nc, modelSubject(type, 'get'), { guid });

/** A vPool or vDisk given by guid or by name (a name must be unique). */
async function resolve(nc: NatsConnection, type: 'vpool' | 'vdisk', ref: string): Promise<Obj> {
  const hits = (await list(nc, type)).filter((o) => o.guid === ref || o.name === ref);
  if (hits.length === 0) throw new Error(`no ${type} named or with guid '${ref}'`);
  if (hits.length > 1) throw new Error(`${hits.length} ${type}s are named '${ref}'; give its guid`);
  return hits[0]!;
}

const namesOf = async (nc: NatsConnection, type: string): Promise<Map<string, string>> => new Map((await list(nc, type)).map((o) => [o.guid, String(o.name)]));

/** `ovs mds list [--vpool <vpool>]`: every MDS service with where it runs, its load and what it serves. */
export function listMds(o: ReadOptions & { vpool?: string }): Promise<void> {
  return withNats(o.nats, Boolean(o.json), async (nc) => {
    const filter = o.vpool === undefined ? {} : { vpool_guid: (await resolve(nc, 'vpool', o.vpool)).guid };
    const services = await Promise.all((await list(nc, 'mdsservice', filter)).map((m) => get(nc, 'mdsservice', m.guid)));
    if (o.json) return services;
    const [vpools, srs] = await Promise.all([namesOf(nc, 'vpool'), namesOf(nc, 'storagerouter')]);
    return services
      .sort((a, b) => String(a.address).localeCompare(String(b.address)))
      .map((m) => {
        const ns = m.namespaces as { count: number } | null;
        return {
          vpool: vpools.get(String(m.vpool_guid)) ?? m.vpool_guid, number: m.number, address: m.address, storagerouter: srs.get(String(m.storagerouter_guid)) ?? m.storagerouter_guid,
          load: typeof m.load === 'number' ? `${m.load}%` : 'inf', capacity: m.capacity, masters: m.masters, slaves: m.slaves, namespaces: ns ? ns.count : 'no answer', guid: m.guid,
        };
      });
  });
}

/** `ovs mds vdisk <vdisk>`: the vDisk's MDS services in the volume's order, master first, with role and lag. */
export function vdiskMds(ref: string, o: ReadOptions): Promise<void> {
  return withNats(o.nats, Boolean(o.json), async (nc) => {
    const vd = await get<{ mds_config: MdsConfigEntry[] | null; name: string }>(nc, 'vdisk', (await resolve(nc, 'vdisk', ref)).guid);
    if (vd.mds_config === null || vd.mds_config === undefined) throw new Error(`vDisk ${vd.name} does not run, or the agent that runs it did not answer: its MDS configuration is unknown`);
    if (o.json) return vd.mds_config;
    const srs = await namesOf(nc, 'storagerouter');
    return vd.mds_config.map((e, i) => ({
      '#': i, address: `${e.address}:${e.port}`, storagerouter: e.storagerouter_guid === null ? '-' : (srs.get(e.storagerouter_guid) ?? e.storagerouter_guid),
      role: e.role, tlogs_behind: e.tlogs_behind ?? 'no answer', mds_service: e.mds_service_guid,
    }));
  });
}

/** `ovs scrub status [vpool] [--vdisks]`: per vPool (or per vDisk) the last scrub, the work pending, what runs. */
export function scrubStatus(ref: string | undefined, o: ReadOptions & { vdisks?: boolean }): Promise<void> {
  return withNats(o.nats, Boolean(o.json), async (nc) => {
    const vpools = ref === undefined ? await list(nc, 'vpool') : [await resolve(nc, 'vpool', ref)];
    if (o.vdisks) {
      const rows = await Promise.all(vpools.flatMap(async (vp) => Promise.all((await list(nc, 'vdisk', { vpool_guid: vp.guid })).map(async (d) => {
        const s = (await get<{ scrub_state: VdiskScrubState | null }>(nc, 'vdisk', d.guid)).scrub_state;
        return { vpool: vp.name, vdisk: d.name, last_scrub: s?.last_scrub ?? (s ? 'never' : 'unknown'), work_pending: s?.work_pending ?? null, running: s?.running ?? null, guid: d.guid };
      }))));
      return rows.flat();
    }
    const states = await Promise.all(vpools.map(async (vp) => ({ vp, s: (await get<{ scrub_state: VpoolScrubState | null }>(nc, 'vpool', vp.guid)).scrub_state })));
    if (o.json) return states.map(({ vp, s }) => ({ vpool_guid: vp.guid, name: vp.name, ...s }));
    return states.map(({ vp, s }) => ({ vpool: vp.name, last_scrub: s?.last_scrub ?? 'never', vdisks: s?.vdisks, with_work_pending: s?.vdisks_with_work_pending, work_pending: s?.work_pending, running: s?.running, unknown: s?.unknown, guid: vp.guid }));
  });
}

/** A StorageRouter given by guid, name or IP. */
async function storagerouterOf(nc: NatsConnection, ref: string): Promise<Obj> {
  const hits = (await list(nc, 'storagerouter')).filter((o) => o.guid === ref || o.name === ref || o.ip === ref);
  if (hits.length !== 1) throw new Error(hits.length === 0 ? `no StorageRouter named, with IP or with guid '${ref}'` : `${hits.length} StorageRouters match '${ref}'; give its guid`);
  return hits[0]!;
}

/** `ovs mds add <vpool> <storagerouter> --capacity N`: one more MDS service of a vPool on a node. */
export function addMds(vpool: string, storagerouter: string, o: ReadOptions & { capacity: string }): Promise<void> {
  return withNats(o.nats, Boolean(o.json), async (nc) => {
    const capacity = Number(o.capacity);
    return request(nc, modelSubject('mdsservice', 'create'), { vpool_guid: (await resolve(nc, 'vpool', vpool)).guid, storagerouter_guid: (await storagerouterOf(nc, storagerouter)).guid, capacity });
  });
}

/** `ovs mds remove <guid>`: removes an MDS service that serves no vDisk. */
export function removeMds(guid: string, o: ReadOptions): Promise<void> {
  return withNats(o.nats, Boolean(o.json), async (nc) => request(nc, modelSubject('mdsservice', 'delete'), { guid }));
}

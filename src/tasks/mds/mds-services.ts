import type { AgentServices } from '../../agent-services.js';
import { MdsError } from '../../errors.js';
import type { ModelObject } from '../../model/schema.js';
import type { MdsServiceView } from '../../policies/mds-safety.js';
import { mdsClient } from '../../mds/client.js';
import { mdsAddress, mdsServicesOn, mdsStoragerouter } from '../../storagedriver/mds-model.js';
import { splitAddress } from '../../mds/wire.js';

/** What creating and removing MDS services needs: the model, the configuration, NATS (to empty a service). */
export type MdsModelServices = Pick<AgentServices, 'view' | 'store' | 'config' | 'nc'>;

const DEFAULT_MDS_PORTS: Array<[number, number]> = [[26300, 26399]];
export const DEFAULT_MDS_CAPACITY = 100;

/** The vPool's MDS knobs (`/ovs/vpools/<guid>/mds_config`), with the original's defaults. */
export async function mdsConfigOf(s: Pick<AgentServices, 'config'>, vpoolGuid: string): Promise<{ mds_tlogs: number; mds_safety: number; mds_maxload: number; mds_capacity: number }> {
  const c = (await s.config.get<Record<string, number>>(`/ovs/vpools/${vpoolGuid}/mds_config`).catch(() => undefined)) ?? {};
  return { mds_tlogs: c.mds_tlogs ?? 100, mds_safety: c.mds_safety ?? 3, mds_maxload: c.mds_maxload ?? 75, mds_capacity: c.mds_capacity ?? DEFAULT_MDS_CAPACITY };
}

/**
 * A new MDS service of a vPool on a StorageRouter (§2.8.1): the next number, a port of the host's `mds` range not
 * modelled yet, a `metadataserver_<vpool>_<n>` Service. The node's agent starts serving it when it sees it. MDS
 * services speak NATS only (§C5), so the port is their identity, not a socket.
 */
export async function prepareMdsService(s: MdsModelServices, vpool: ModelObject, sr: ModelObject, capacity?: number): Promise<ModelObject> {
  if (s.view.list('storagedriver', { vpool_guid: vpool.guid, storagerouter_guid: sr.guid }).length !== 1) {
    throw new MdsError(`vPool ${String(vpool.name)} has no StorageDriver on StorageRouter ${String(sr.name)}: no MDS service there`, {});
  }
  const type = s.view.list('servicetype', { name: 'MetadataServer' })[0];
  if (!type) throw new MdsError('service type MetadataServer is not in the model', {});
  const ranges = ((await s.config.get<Record<string, Array<number[] | number>>>(`/ovs/framework/hosts/${String(sr.machine_id)}/ports`)) ?? {}).mds ?? DEFAULT_MDS_PORTS;
  const used = new Set(s.view.list('service', { storagerouter_guid: sr.guid }).filter((x) => x.type_guid === type.guid).flatMap((x) => x.ports as number[]));
  let port: number | undefined;
  for (const r of ranges) {
    const [from, to] = Array.isArray(r) ? [r[0]!, r[1] ?? 65535] : [r, 65535];
    for (let p = from; p <= to && port === undefined; p++) if (!used.has(p)) port = p;
  }
  if (port === undefined) throw new MdsError(`no free port left in the mds port range of StorageRouter ${String(sr.name)}`, {});
  const existing = mdsServicesOn(s.view, vpool.guid, sr.guid);
  const number = existing.length === 0 ? 0 : Math.max(...existing.map((m) => Number(m.number))) + 1;
  const service = await s.store.create('service', { name: `metadataserver_${String(vpool.name)}_${number}`, ports: [port], storagerouter_guid: sr.guid, type_guid: type.guid });
  try {
    return await s.store.create('mdsservice', { number, capacity: capacity ?? (await mdsConfigOf(s, vpool.guid)).mds_capacity, vpool_guid: vpool.guid, service_guid: service.guid });
  } catch (e) {
    await s.store.delete('service', service.guid).catch(() => undefined);
    throw e;
  }
}

/**
 * Removes an MDS service (§2.8.2). One that still serves vDisks is refused unless `allowOffline` (its node is gone:
 * its junctions go with it). Its tables are dropped by its agent when the model no longer places it there.
 */
export async function removeMdsService(s: MdsModelServices, mds: ModelObject, allowOffline = false): Promise<void> {
  const junctions = s.view.list('mdsservicevdisk', { mds_service_guid: mds.guid });
  if (junctions.length > 0 && !allowOffline) throw new MdsError(`MDS service ${mdsAddress(s.view, mds) ?? mds.guid} still serves ${junctions.length} vDisk(s)`, {});
  for (const j of junctions) await s.store.delete('mdsservicevdisk', j.guid);
  const address = mdsAddress(s.view, mds);
  if (address && !allowOffline) {
    const c = mdsClient(address, s.nc, 5_000);
    for (const ns of await c.list_namespaces().catch(() => [])) await c.remove_namespace(ns).catch(() => undefined);
  }
  await s.store.delete('mdsservice', mds.guid);
  await s.store.delete('service', String(mds.service_guid)).catch(() => undefined);
}

/** The MDS services of a vPool with their StorageRouter and address (those whose address cannot be built are skipped). */
export function vpoolMdsServices(s: Pick<AgentServices, 'view'>, vpoolGuid: string): Array<{ mds: ModelObject; storagerouter: string; address: string }> {
  return s.view.list('mdsservice', { vpool_guid: vpoolGuid }).flatMap((mds) => {
    const address = mdsAddress(s.view, mds);
    const storagerouter = mdsStoragerouter(s.view, mds);
    return address && storagerouter ? [{ mds, storagerouter, address }] : [];
  });
}

/** The vPool's MDS services as the placement policies see them: where, how big, how many vDisks they serve. */
export function mdsServiceViews(s: Pick<AgentServices, 'view'>, vpoolGuid: string): MdsServiceView[] {
  return vpoolMdsServices(s, vpoolGuid).map(({ mds, storagerouter, address }) => {
    const [ip, port] = splitAddress(address);
    return { id: mds.guid, storagerouter, ip, port, capacity: Number(mds.capacity), junctions: s.view.list('mdsservicevdisk', { mds_service_guid: mds.guid }).length };
  });
}

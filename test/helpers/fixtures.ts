import type { ModelStore } from '../../src/model/store.js';

/**
 * Builds a topology from a compact description (like the original's DalHelper.build_dal_structure):
 * `{ storagerouters: [1, 2], domains: [1], storagerouter_domains: [[1, 1, false]], disks: [[1, 1]], partitions: [[1, 1, ['DB']]], vpools: [1] }`
 * - storagerouters: ids; disks: [disk id, sr id]; partitions: [partition id, disk id, roles]
 * - storagerouter_domains: [sr id, domain id, backup]
 * Returns guids by kind and id.
 */
export interface Topology {
  storagerouters?: number[];
  domains?: number[];
  storagerouter_domains?: Array<[number, number, boolean]>;
  disks?: Array<[number, number]>;
  partitions?: Array<[number, number, string[]]>;
  vpools?: number[];
}

export type Built = Record<'storagerouters' | 'domains' | 'disks' | 'partitions' | 'vpools', Map<number, string>>;

export async function buildModel(store: ModelStore, topo: Topology, prefix = Math.random().toString(36).slice(2, 7)): Promise<Built> {
  const out: Built = { storagerouters: new Map(), domains: new Map(), disks: new Map(), partitions: new Map(), vpools: new Map() };
  const need = (m: Map<number, string>, id: number, what: string): string => {
    const g = m.get(id);
    if (!g) throw new Error(`fixture refers to ${what} ${id} that is not declared`);
    return g;
  };
  for (const id of topo.storagerouters ?? []) {
    const sr = await store.create('storagerouter', { name: `sr${id}-${prefix}`, ip: `10.${id}.0.${Math.floor(Math.random() * 250) + 1}`, machine_id: `m${id}-${prefix}`, heartbeats: { process: Date.now() / 1000, celery: Date.now() / 1000 } });
    out.storagerouters.set(id, sr.guid);
  }
  for (const id of topo.domains ?? []) out.domains.set(id, (await store.create('domain', { name: `domain${id}` })).guid);
  for (const [sr, domain, backup] of topo.storagerouter_domains ?? []) {
    await store.create('storagerouterdomain', { storagerouter_guid: need(out.storagerouters, sr, 'storagerouter'), domain_guid: need(out.domains, domain, 'domain'), backup });
  }
  for (const [id, sr] of topo.disks ?? []) {
    const d = await store.create('disk', { name: `sd${String.fromCharCode(96 + id)}`, aliases: [`/dev/disk/by-id/disk${id}-${prefix}`], state: 'OK', size: 100 * 2 ** 30, is_ssd: true, storagerouter_guid: need(out.storagerouters, sr, 'storagerouter') });
    out.disks.set(id, d.guid);
  }
  for (const [id, disk, roles] of topo.partitions ?? []) {
    const p = await store.create('diskpartition', { offset: id * 2 ** 20, size: 10 * 2 ** 30, state: 'OK', aliases: [], roles, mountpoint: null, disk_guid: need(out.disks, disk, 'disk') });
    out.partitions.set(id, p.guid);
  }
  for (const id of topo.vpools ?? []) out.vpools.set(id, (await store.create('vpool', { name: `pool${id}-${prefix}`, status: 'RUNNING' })).guid);
  return out;
}

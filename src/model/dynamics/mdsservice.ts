import type { MdsClient } from '../../mds/client.js';
import { mdsLoad } from '../../policies/mds-load.js';
import { mdsAddress, mdsStoragerouter } from '../../storagedriver/mds-model.js';
import type { DynamicDef, ModelObject, ModelReader } from '../schema.js';

function junctions(mds: ModelObject, reader: ModelReader): ModelObject[] {
  return reader.list('mdsservicevdisk', { mds_service_guid: mds.guid });
}

/** Current load in percent; null for capacity 0 (a service being drained: load ∞, which JSON cannot carry). */
export function mdsServiceLoad(mds: ModelObject, reader: ModelReader): number | null {
  const load = mdsLoad(Number(mds.capacity), junctions(mds, reader).length).current;
  return Number.isFinite(load) ? load : null;
}

/**
 * Operator views of an MDS service: where it runs, its load against its capacity, how many vDisks it serves as
 * master and as slave (the model's junctions) and the namespaces it actually holds (asked from the service; null
 * when it does not answer).
 */
export function mdsServiceDynamics(clientOf: (address: string) => MdsClient): Record<string, DynamicDef> {
  return {
    storagerouter_guid: { ttlMs: 60_000, compute: (m, r) => mdsStoragerouter(r, m) ?? null },
    address: { ttlMs: 60_000, compute: (m, r) => mdsAddress(r, m) ?? null },
    load: { ttlMs: 0, compute: mdsServiceLoad },
    masters: { ttlMs: 0, compute: (m, r) => junctions(m, r).filter((j) => j.is_master === true).length },
    slaves: { ttlMs: 0, compute: (m, r) => junctions(m, r).filter((j) => j.is_master !== true).length },
    namespaces: {
      ttlMs: 5_000,
      compute: async (m, r) => {
        const address = mdsAddress(r, m);
        if (!address) return null;
        const list = await clientOf(address).list_namespaces().catch(() => null);
        return list === null ? null : { count: list.length, list: [...list].sort() };
      },
    },
  };
}

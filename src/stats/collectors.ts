import type { ModelReader } from '../model/schema.js';
import { mdsLoad } from '../policies/mds-load.js';
import { mdsStoragerouter } from '../storagedriver/mds-model.js';
import type { ClusterStatistics } from './figures.js';

/** One measurement point, as InfluxDB takes it and the other transports render it. */
export interface StatsPoint {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, number>;
}

/** What a get_stats method returns: whether part of it failed (and why), and the points it has. */
export interface Collected {
  errors: string[];
  points: StatsPoint[];
}

export type StatsMethod = (environment: string) => Promise<Collected>;

/** The framework's methods (`get_stats_<x>`); their names are also the keys of per-method intervals. */
export function statsMethods(reader: ModelReader, stats: ClusterStatistics): Record<string, StatsMethod> {
  return {
    get_stats_mds: async (environment) => ({ errors: [], points: mdsPoints(reader, environment) }),
    get_stats_storagerouters: (environment) => storagerouterPoints(reader, stats, environment),
    get_stats_vpools: (environment) => vpoolPoints(reader, stats, environment),
  };
}

/**
 * Per MDS service: its load in percent, capacity and the vDisks it serves as master and as slave. The original sent
 * capacity `'infinite'` (a string in a numeric field) and load `inf`, which InfluxDB and graphite refuse; here an
 * unlimited capacity is -1 and an infinite load (capacity 0) is left out.
 */
export function mdsPoints(reader: ModelReader, environment: string): StatsPoint[] {
  return reader.list('mdsservice').map((mds) => {
    const junctions = reader.list('mdsservicevdisk', { mds_service_guid: mds.guid });
    const masters = junctions.filter((j) => j.is_master === true).length;
    const capacity = Number(mds.capacity);
    const load = mdsLoad(capacity, junctions.length).current;
    const sr = mdsStoragerouter(reader, mds);
    return {
      measurement: 'mds',
      tags: {
        environment,
        vpool_name: String(reader.find('vpool', String(mds.vpool_guid))?.name ?? mds.vpool_guid),
        mds_number: String(mds.number),
        storagerouter_name: storagerouterName(reader, sr),
      },
      fields: { ...(Number.isFinite(load) ? { load } : {}), capacity: capacity < 0 ? -1 : capacity, masters, slaves: junctions.length - masters },
    };
  });
}

function storagerouterName(reader: ModelReader, guid: string | undefined): string {
  const name = guid === undefined ? undefined : reader.find('storagerouter', guid)?.name;
  return typeof name === 'string' ? name : (guid ?? 'unknown');
}

async function storagerouterPoints(reader: ModelReader, stats: ClusterStatistics, environment: string): Promise<Collected> {
  const out: Collected = { errors: [], points: [] };
  for (const sr of reader.list('storagerouter')) {
    const sds = reader.list('storagedriver', { storagerouter_guid: sr.guid });
    if (sds.length === 0) continue;
    const { statistics: s, unanswered } = await stats.ofStorageRouter(sr);
    if (unanswered.length > 0) {
      out.errors.push(`StorageRouter ${String(sr.name)}: no counters from StorageDrivers ${unanswered.join(', ')}`);
      continue;
    }
    const sdGuids = new Set(sds.map((sd) => sd.guid));
    out.points.push({
      measurement: 'storagerouter',
      tags: { environment, storagerouter_name: String(sr.name) },
      fields: {
        read_byte: s.data_read ?? 0,
        write_byte: s.data_written ?? 0,
        operations: s['4k_operations'] ?? 0,
        amount_vdisks: reader.list('vdisk').filter((vd) => sdGuids.has(String(vd.storagedriver_guid))).length,
        read_operations: s['4k_read_operations'] ?? 0,
        write_operations: s['4k_write_operations'] ?? 0,
      },
    });
  }
  return out;
}

async function vpoolPoints(reader: ModelReader, stats: ClusterStatistics, environment: string): Promise<Collected> {
  const out: Collected = { errors: [], points: [] };
  for (const vpool of reader.list('vpool')) {
    const { statistics, unanswered } = await stats.ofVpool(vpool);
    if (unanswered.length > 0) {
      out.errors.push(`vPool ${String(vpool.name)}: no counters from StorageDrivers ${unanswered.join(', ')}`);
      continue;
    }
    out.points.push({ measurement: 'vpool', tags: { environment, vpool_name: String(vpool.name) }, fields: vpoolFields(statistics) });
  }
  return out;
}

/** The vPool's statistics without the `_ps` rates, nested maps flattened with `_`, every value a float. */
export function vpoolFields(statistics: Record<string, unknown>, prefix = ''): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(statistics)) {
    if (k.endsWith('_ps')) continue;
    const name = prefix ? `${prefix}_${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) Object.assign(out, vpoolFields(v as Record<string, unknown>, name));
    else if (typeof v === 'number' && Number.isFinite(v)) out[name] = v;
  }
  return out;
}

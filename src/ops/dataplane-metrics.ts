import { Gauge, type Registry } from 'prom-client';
import type { VolumeDriver } from '../dataplane/driver/volume-driver.js';
import type { ModelReader } from '../model/schema.js';
import { mdsLoad } from '../policies/mds-load.js';
import { mdsStoragerouter } from '../storagedriver/mds-model.js';
import { extractStatistics } from '../stats/extract.js';

export interface DataplaneMetricsSource {
  /** This agent's StorageRouter: only its own StorageDrivers and MDS services are exported here. */
  me: string;
  view: ModelReader;
  /** The volume driver of a StorageDriver running in this process. */
  driverOf: (storagedriverGuid: string) => VolumeDriver | undefined;
}

type SdLabel = 'vpool' | 'storagerouter';
type MdsLabel = 'vpool' | 'storagerouter' | 'mds_number';

/**
 * The stats monkey's figures as Prometheus series, each agent exporting its own node's (scrape every agent for the
 * cluster). Labels are bounded: vPool name, StorageRouter name, MDS number; never a vDisk. The I/O figures count since
 * each volume started on this node, so they drop when a vDisk moves away (gauges, not counters).
 */
export function registerDataplaneMetrics(registry: Registry, src: DataplaneMetricsSource): void {
  const registers = [registry];
  const sdGauge = (name: string, help: string, pick: (s: Record<string, number>, vdisks: number) => number): void => {
    new Gauge<SdLabel>({
      name, help, labelNames: ['vpool', 'storagerouter'], registers,
      collect() {
        this.reset();
        for (const { labels, driver } of ownStorageDrivers(src)) {
          const counters = driver.statistics_node({});
          this.set(labels, pick(extractStatistics(counters), counters.volumes));
        }
      },
    });
  };
  sdGauge('ovs_storagedriver_read_bytes', 'Bytes read from the vDisks running on this node, per vPool', (s) => s.data_read ?? 0);
  sdGauge('ovs_storagedriver_write_bytes', 'Bytes written to the vDisks running on this node, per vPool', (s) => s.data_written ?? 0);
  sdGauge('ovs_storagedriver_read_requests', 'Read requests of the vDisks running on this node, per vPool', (s) => s.read_operations ?? 0);
  sdGauge('ovs_storagedriver_write_requests', 'Write requests of the vDisks running on this node, per vPool', (s) => s.write_operations ?? 0);
  sdGauge('ovs_storagedriver_4k_operations', 'Bytes read and written in units of the block size (the stats monkey\'s operations)', (s) => s['4k_operations'] ?? 0);
  sdGauge('ovs_storagedriver_vdisks', 'vDisks running on this node, per vPool', (_s, vdisks) => vdisks);

  const mdsGauge = (name: string, help: string, pick: (m: MdsFigures) => number | undefined): void => {
    new Gauge<MdsLabel>({
      name, help, labelNames: ['vpool', 'storagerouter', 'mds_number'], registers,
      collect() {
        this.reset();
        for (const m of ownMdsServices(src)) {
          const v = pick(m);
          if (v !== undefined) this.set(m.labels, v);
        }
      },
    });
  };
  mdsGauge('ovs_mds_load', 'Load of an MDS service hosted on this node in percent (+Inf at capacity 0)', (m) => m.load);
  mdsGauge('ovs_mds_capacity', 'vDisks an MDS service should carry (-1: unlimited)', (m) => m.capacity);
  mdsGauge('ovs_mds_masters', 'vDisks an MDS service serves as master', (m) => m.masters);
  mdsGauge('ovs_mds_slaves', 'vDisks an MDS service serves as slave', (m) => m.slaves);
}

function ownStorageDrivers(src: DataplaneMetricsSource): Array<{ labels: Record<SdLabel, string>; driver: VolumeDriver }> {
  const srName = nameOf(src);
  return src.view.list('storagedriver', { storagerouter_guid: src.me }).flatMap((sd) => {
    const driver = src.driverOf(sd.guid);
    if (!driver) return [];
    return [{ labels: { vpool: String(src.view.find('vpool', String(sd.vpool_guid))?.name ?? sd.vpool_guid), storagerouter: srName }, driver }];
  });
}

interface MdsFigures {
  labels: Record<MdsLabel, string>;
  load: number;
  capacity: number;
  masters: number;
  slaves: number;
}

function ownMdsServices(src: DataplaneMetricsSource): MdsFigures[] {
  const srName = nameOf(src);
  return src.view.list('mdsservice').filter((m) => mdsStoragerouter(src.view, m) === src.me).map((m) => {
    const junctions = src.view.list('mdsservicevdisk', { mds_service_guid: m.guid });
    const masters = junctions.filter((j) => j.is_master === true).length;
    const capacity = Number(m.capacity);
    return {
      labels: { vpool: String(src.view.find('vpool', String(m.vpool_guid))?.name ?? m.vpool_guid), storagerouter: srName, mds_number: String(m.number) },
      load: mdsLoad(capacity, junctions.length).current,
      capacity: capacity < 0 ? -1 : capacity,
      masters,
      slaves: junctions.length - masters,
    };
  });
}

function nameOf(src: DataplaneMetricsSource): string {
  const name = src.view.find('storagerouter', src.me)?.name;
  return typeof name === 'string' ? name : src.me;
}

import { join } from 'node:path';
import type { Logger } from 'pino';
import { LocalDirBackend } from '../dataplane/backend/local-dir.js';
import { DEFAULT_GEOMETRY, type Geometry } from '../dataplane/common/geometry.js';
import { VolumeDriver, parseSize } from '../dataplane/driver/volume-driver.js';
import { NbdServer } from '../dataplane/nbd/server.js';
import { chooseLogFormat, createCommandLogger, type LogFormat } from '../log/cli-logger.js';
import { onSignals } from './signals.js';

/** The command line of `ovs volume serve`: the served volume as in ServeOptions, the rest as flags. */
export interface VolumeServeFlags extends Pick<ServeOptions, 'dir' | 'backend' | 'name' | 'size' | 'port' | 'host'> {
  clusterSize?: number;
  scoClusters?: number;
  directIo: boolean;
  readCache?: number;
  logFormat?: LogFormat;
}

export interface ServeOptions {
  dir: string;
  backend: string;
  name: string;
  size: string;
  port: number;
  host: string;
  geometry?: Partial<Geometry>;
  /** false: large SCO I/O through the page cache as well. */
  directIo?: boolean;
  readCacheBytes?: number;
  log: Logger;
}

/**
 * `ovs volume serve`: one volume, standalone, over NBD (benchmarks, debugging, a single NBD disk). The volume is
 * created on first use and restarted from its local state (or the backend) afterwards.
 */
export async function serveVolume(o: ServeOptions): Promise<{ port: number; stop: () => Promise<void> }> {
  const backend = new LocalDirBackend(o.backend);
  const driver = new VolumeDriver({
    vpool: 'standalone',
    nodeId: 'local',
    dataRoot: o.dir,
    backend,
    geometry: { ...DEFAULT_GEOMETRY, ...o.geometry },
    directIo: o.directIo,
    readCacheBytes: o.readCacheBytes,
    log: o.log,
  });
  driver.on('event', (e: Record<string, unknown>) => o.log.info({ event: e }, `volume driver event ${String(e.type)}`));
  await driver.start();
  const size = parseSize(o.size);
  if (!driver.registry.find(o.name)) {
    await driver.create_volume({ target_path: `/${o.name}`, volume_size: size, volume_id: o.name });
  } else if (size > driver.info_volume({ volume_id: o.name }).volume_size) {
    await driver.truncate({ object_id: o.name, new_size: size });
  }
  const server = new NbdServer(driver, { log: o.log.child({ component: 'nbd' }) });
  const port = await server.listen(o.port, o.host);
  o.log.info({ export: o.name, port, host: o.host, data: join(o.dir, 'standalone') }, 'serving volume over NBD');
  return {
    port,
    stop: async () => {
      await server.close();
      await driver.stop();
    },
  };
}

/** `ovs volume serve`: one volume over NBD, standalone. */
export async function runVolumeServe(o: VolumeServeFlags): Promise<void> {
  const log = createCommandLogger({ proc: 'ovs-volume' }, chooseLogFormat(o.logFormat));
  const geometry = { ...(o.clusterSize ? { clusterSize: o.clusterSize } : {}), ...(o.scoClusters ? { scoMultiplier: o.scoClusters } : {}) };
  const readCacheBytes = o.readCache === undefined ? undefined : Math.max(0, o.readCache) * 2 ** 20;
  const served = await serveVolume({ ...o, geometry, readCacheBytes, log });
  onSignals(served.stop);
  process.stderr.write(`serving ${o.name} on nbd://${o.host}:${served.port}/${o.name}\n`);
}

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { LocalDirBackend } from '../../src/dataplane/backend/local-dir.js';
import { TEST_GEOMETRY, type Geometry } from '../../src/dataplane/common/geometry.js';
import { VolumeDriver, type VolumeDriverOptions } from '../../src/dataplane/driver/volume-driver.js';

export interface Harness {
  dir: string;
  backend: LocalDirBackend;
  driver: VolumeDriver;
  events: Array<Record<string, unknown>>;
  /** A new driver on the same directories (a node restart). */
  restart(): Promise<VolumeDriver>;
  close(): Promise<void>;
}

/** A volume driver with test geometry (64 KiB SCOs, 4 SCOs per TLog) on temporary directories. */
export async function harness(
  geometry: Geometry = TEST_GEOMETRY,
  at?: string,
  failPut?: (ns: string, name: string) => boolean,
  opts: { directIo?: boolean; mds?: VolumeDriverOptions['mds'] } = {},
): Promise<Harness> {
  const dir = at ?? (await mkdtemp(join(tmpdir(), 'ovs-vol-')));
  const backend = new LocalDirBackend(join(dir, 'backend'), { failPut });
  const events: Array<Record<string, unknown>> = [];
  const make = async (): Promise<VolumeDriver> => {
    const d = new VolumeDriver({ vpool: 'pool', nodeId: 'node1', dataRoot: join(dir, 'data'), backend, geometry, allowTinyScos: true, directIo: opts.directIo, mds: opts.mds, log: pino({ level: process.env.OVS_TEST_LOG ?? 'silent' }) });
    d.on('event', (e: Record<string, unknown>) => events.push(e));
    await d.start();
    return d;
  };
  const h: Harness = {
    dir,
    backend,
    driver: await make(),
    events,
    async restart() {
      await h.driver.stop();
      h.driver = await make();
      return h.driver;
    },
    async close() {
      await h.driver.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return h;
}

/** The expected content of a volume: every acknowledged write applied to a plain buffer. */
export class Shadow {
  readonly data: Buffer;

  constructor(size: number) {
    this.data = Buffer.alloc(size);
  }

  write(offset: number, buf: Buffer): void {
    buf.copy(this.data, offset);
  }

  clone(): Shadow {
    const s = new Shadow(this.data.length);
    this.data.copy(s.data);
    return s;
  }
}

/** Deterministic pseudo-random bytes. */
export function pattern(length: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

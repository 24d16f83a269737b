import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Backend } from '../../src/dataplane/backend/backend.js';
import { PageTable, type TableMeta } from '../../src/dataplane/metadata/page-table.js';
import { allTLogs } from '../../src/dataplane/snapshots/persistor.js';
import { VOLUME_CONFIG_OBJECT, type VolumeConfig } from '../../src/dataplane/volume/config.js';
import type { Volume } from '../../src/dataplane/volume/volume.js';
import { catchUp } from '../../src/mds/builder.js';
import { mdsClient, registerLocalMds, unregisterLocalMds, type MdsClient } from '../../src/mds/client.js';
import { MdsServer } from '../../src/mds/server.js';
import { waitFor } from '../helpers/eventually.js';
import { harness, pattern, type Harness, type Shadow } from '../helpers/volume-harness.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;

const log = pino({ level: process.env.OVS_TEST_LOG ?? 'silent' });
let envs = 0;

/** A table as the tests compare it: its meta and its non-empty pages (hex) by number. */
export interface TableDump {
  meta: TableMeta;
  pages: Record<number, string>;
}

/**
 * One node's volume driver plus `n` MDS services in this process, each on its own directory, all on the volume's
 * backend. Addresses are unique per env (`10.0.<env>.<i+1>:26300`), so faults armed for one env's services match
 * no other env's.
 */
export interface MdsEnv {
  h: Harness;
  addrs: string[];
  servers: Array<MdsServer | undefined>;
  client(i: number): MdsClient;
  /** A service going away: stopped and no longer reachable. */
  stopServer(i: number): Promise<void>;
  /** A service (re)starting on its directory. */
  startServer(i: number): Promise<MdsServer>;
  close(): Promise<void>;
}

export async function mdsEnv(n = 3, o: { maxTlogsBehind?: number } = {}): Promise<MdsEnv> {
  const envNo = ++envs;
  const addrs = Array.from({ length: n }, (_, i) => `10.0.${envNo}.${i + 1}:26300`);
  const h = await harness(undefined, undefined, undefined, {
    mds: { client: (a) => mdsClient(a, undefined, 1_000), defaults: () => ({ nodes: [...addrs], maxTlogsBehind: o.maxTlogsBehind ?? 50 }) },
  });
  const servers: Array<MdsServer | undefined> = [];
  const env: MdsEnv = {
    h,
    addrs,
    servers,
    client: (i) => mdsClient(addrs[i]!, undefined, 1_000),
    async stopServer(i) {
      const s = servers[i];
      if (!s) return;
      unregisterLocalMds(s);
      await s.stop();
      servers[i] = undefined;
    },
    async startServer(i) {
      const s = new MdsServer({ address: addrs[i]!, dir: join(h.dir, `mds${i}`), backend: h.backend, log, pollMs: 3_600_000 });
      await s.start();
      registerLocalMds(s);
      servers[i] = s;
      return s;
    },
    async close() {
      for (let i = 0; i < n; i++) await env.stopServer(i);
      await h.close();
    },
  };
  for (let i = 0; i < n; i++) await env.startServer(i);
  return env;
}

export async function dumpMds(c: MdsClient, ns: string): Promise<TableDump> {
  const numbers = await c.page_numbers(ns);
  const pages = await c.multiget(ns, numbers);
  const meta = await c.get_table_meta(ns);
  return { meta: { corkId: meta.corkId, scrubId: meta.scrubId, usedClusters: meta.usedClusters }, pages: Object.fromEntries(numbers.map((p, i) => [p, pages[i]!.toString('hex')])) };
}

export function dumpTable(t: PageTable): TableDump {
  return { meta: { corkId: t.meta.corkId, scrubId: t.meta.scrubId, usedClusters: t.meta.usedClusters }, pages: Object.fromEntries(t.pageNumbers().map((p) => [p, t.page(p).toString('hex')])) };
}

/** The builder's table for `ns` from the backend alone: what every MDS table must equal (I5). */
export async function replayOf(backend: Backend, ns: string): Promise<TableDump> {
  const dir = await mkdtemp(join(tmpdir(), 'ovs-scratch-'));
  const t = await PageTable.open(dir);
  try {
    await catchUp(t, backend, ns, false);
    return dumpTable(t);
  } finally {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The last TLog the backend has of a volume (what a master's cork must be once the queue is idle). */
export function lastWrittenTLog(v: Volume): string | null {
  const written = allTLogs(v.doc).filter((t) => t.written);
  return written[written.length - 1]?.id ?? null;
}

/** A round of writes below one TLog (from `base`, within 1 MiB: one table page), then a backend sync: exactly one more TLog in the backend. */
export async function round(env: MdsEnv, v: Volume, shadow: Shadow, seed: number, base = 0): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const off = base + ((seed * 5 + i * 11) % 60) * 16 * KiB;
    const b = pattern(12 * KiB + i * 512, seed * 10 + i);
    await v.write(off, b);
    shadow.write(off, b);
  }
  await env.h.driver.schedule_backend_sync({ volume_id: v.id });
  await v.queue.idle();
}

export async function waitMaster(c: MdsClient, ns: string, ownerTag: number): Promise<void> {
  await waitFor(`${c.address} MASTER of ${ns} with owner tag ${ownerTag}`, async () => {
    const r = await c.get_role(ns);
    return r.role === 'MASTER' && r.owner_tag === ownerTag;
  });
}

/** The MDS list stored with the volume's configuration in the backend. */
export async function storedMdsNodes(backend: Backend, ns: string): Promise<string[] | undefined> {
  const cfg = JSON.parse((await backend.get(ns, VOLUME_CONFIG_OBJECT)).toString('utf8')) as VolumeConfig;
  return cfg.mdsBackend?.nodes;
}

export async function localMdsNodes(h: Harness, ns: string): Promise<string[] | undefined> {
  const cfg = JSON.parse(await readFile(join(h.dir, 'data', 'pool', 'md', ns, 'volume.json'), 'utf8')) as VolumeConfig;
  return cfg.mdsBackend?.nodes;
}

export function configNodes(h: Harness, id: string): string[] {
  return h.driver.info_volume({ volume_id: id }).metadata_backend_config.map((n) => `${n.address}:${n.port}`);
}

export function mdsFailovers(h: Harness): Array<Record<string, unknown>> {
  return h.events.filter((e) => e.type === 'volumedriver_error' && e.code === 25);
}

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { LocalDirBackend } from '../../src/dataplane/backend/local-dir.js';
import type { Backend } from '../../src/dataplane/backend/backend.js';
import { TEST_GEOMETRY } from '../../src/dataplane/common/geometry.js';
import { FileRegistry } from '../../src/dataplane/driver/registry.js';
import { VolumeDriver } from '../../src/dataplane/driver/volume-driver.js';
import type { Volume } from '../../src/dataplane/volume/volume.js';
import { pattern, Shadow } from '../helpers/volume-harness.js';

export const KiB = 1024;

/** A test clock: the scrub grace delay and lease expiry advance only when the test says so. */
export class Clock {
  ms = 1_000_000;
  now = (): number => this.ms;
}

/**
 * Two "nodes" of one vPool in this process: drivers on their own data directories sharing the backend and the
 * registry object (as the KV bucket is shared in a cluster). Job rounds run only when the test calls tick().
 */
export async function twoNodes(): Promise<{ dir: string; backend: LocalDirBackend; clock: Clock; n1: VolumeDriver; n2: VolumeDriver; restart1(): Promise<VolumeDriver>; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'ovs-scrub-'));
  const backend = new LocalDirBackend(join(dir, 'backend'));
  const registry = new FileRegistry(join(dir, 'registry.json'));
  const clock = new Clock();
  const make = async (nodeId: string): Promise<VolumeDriver> => {
    const d = new VolumeDriver({
      vpool: 'pool', nodeId, dataRoot: join(dir, nodeId), backend, geometry: TEST_GEOMETRY, allowTinyScos: true, registry, readCacheBytes: 0,
      log: pino({ level: process.env.OVS_TEST_LOG ?? 'silent' }),
      scrub: { graceMs: 10_000, pollMs: 3_600_000, leaseTtlMs: 60_000, leaseWaitMs: 150, now: clock.now },
    });
    await d.start();
    return d;
  };
  const env = {
    dir, backend, clock, n1: await make('node1'), n2: await make('node2'),
    async restart1() {
      await env.n1.stop();
      env.n1 = await make('node1');
      return env.n1;
    },
    async close() {
      await env.n1.stop();
      await env.n2.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return env;
}

export async function backendBytes(backend: Backend, ns: string): Promise<number> {
  let n = 0;
  for (const name of await backend.list(ns)) n += await backend.size(ns, name);
  return n;
}

/** Overwrite-heavy rounds: every round rewrites a hot region and some cold clusters, then takes snapshot s<round>. */
export async function overwriteRounds(d: VolumeDriver, v: Volume, shadow: Shadow, rounds: number, first = 1): Promise<Map<string, Buffer>> {
  const images = new Map<string, Buffer>();
  for (let r = first; r < first + rounds; r++) {
    for (let i = 0; i < 6; i++) {
      const off = ((r * 7 + i * 3) % 24) * 16 * KiB;
      const b = pattern(48 * KiB, r * 100 + i);
      await v.write(off, b);
      shadow.write(off, b);
    }
    const cold = pattern(4 * KiB, r);
    await v.write((512 + r * 9) * 4 * KiB, cold);
    shadow.write((512 + r * 9) * 4 * KiB, cold);
    await d.create_snapshot({ volume_id: v.id, snapshot_id: `s${r}` });
    await v.queue.idle();
    images.set(`s${r}`, Buffer.from(shadow.data));
  }
  return images;
}

/** Volume `v` (4 MiB) on node1 of `env` after `rounds` overwrite rounds with a snapshot each: its images by snapshot. */
export async function overwrittenVolume(env: { n1: VolumeDriver }, rounds: number): Promise<{ id: string; v: Volume; shadow: Shadow; images: Map<string, Buffer> }> {
  const size = 4 * 1024 * KiB;
  const id = await env.n1.create_volume({ target_path: '/v.raw', volume_size: size, volume_id: 'v' });
  const v = env.n1.running(id)!;
  const shadow = new Shadow(size);
  return { id, v, shadow, images: await overwriteRounds(env.n1, v, shadow, rounds) };
}

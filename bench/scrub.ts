// `bench scrub`: scrubs one vDisk with OVS_BENCH_SCRUB_LIVE_MB (default 1024) of live data and 4× that of overwritten
// history in one snapshot interval, default vPool geometry (4 KiB clusters, 4 MiB SCOs, 20 SCOs per TLog).
import { join } from 'node:path';
import { pino } from 'pino';
import { LocalDirBackend } from '../src/dataplane/backend/local-dir.js';
import { DEFAULT_GEOMETRY } from '../src/dataplane/common/geometry.js';
import { VolumeDriver } from '../src/dataplane/driver/volume-driver.js';
import type { Resources } from './lib/procs.js';

const MiB = 1024 * 1024;

/** xorshift: cheap, deterministic offsets and bytes. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

export async function scrub(res: Resources): Promise<void> {
  const liveMb = Number(process.env.OVS_BENCH_SCRUB_LIVE_MB ?? 1024) || 1024;
  const log = (m: string): void => void process.stderr.write(`scrub: ${m}\n`);
  const dir = await res.tempDir('ovs-bench-scrub-');
  const backend = new LocalDirBackend(join(dir, 'backend'));
  const driver = new VolumeDriver({
    vpool: 'bench', nodeId: 'node1', dataRoot: join(dir, 'data'), backend, geometry: DEFAULT_GEOMETRY, readCacheBytes: 0,
    log: pino({ level: 'warn' }), scrub: { graceMs: 0, pollMs: 3_600_000 },
  });
  await driver.start();
  try {
    const size = liveMb * MiB;
    const id = await driver.create_volume({ target_path: '/scrub.raw', volume_size: size, volume_id: 'scrub' });
    const v = driver.running(id)!;
    const chunk = Buffer.alloc(MiB);
    const next = rng(7);
    const fill = (n: number): Buffer => {
      const b = chunk.subarray(0, n);
      for (let i = 0; i < n; i += 4096) b.writeUInt32LE((next() * 0x1_0000_0000) >>> 0, i);
      return b;
    };
    const t0 = performance.now();
    for (let off = 0; off < size; off += MiB) await v.write(off, fill(MiB));
    // History: 4× the live size again, in 64 KiB..1 MiB writes at random cluster-aligned offsets.
    for (let written = 0; written < 4 * size;) {
      const n = Math.max(16, Math.floor(next() * 256)) * 4096;
      const off = Math.floor(next() * ((size - n) / 4096)) * 4096;
      await v.write(off, fill(n));
      written += n;
    }
    await driver.create_snapshot({ volume_id: id, snapshot_id: 'bench' });
    await v.queue.idle();
    log(`wrote ${liveMb} MB live + ${4 * liveMb} MB history in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const before = await bytesOf(backend, id);

    const t1 = performance.now();
    let historyBytes = 0;
    for (const work of driver.get_scrubbing_workunits({ volume_id: id })) {
      const reply = await driver.scrub({ work });
      historyBytes += reply.bytesIn;
      const applied = await driver.apply_scrubbing_result({ volume_id: id, result_name: reply.resultName });
      log(`${work.snapshot}: ${reply.relocations} relocations, ${reply.newScos} new SCOs, ${reply.deadScos} dead SCOs, applied=${applied.applied}`);
    }
    await driver.scrubs.tick();
    const seconds = (performance.now() - t1) / 1000;
    const after = await bytesOf(backend, id);
    log(`scrubbed ${(historyBytes / MiB).toFixed(0)} MB of history in ${seconds.toFixed(2)} s; backend ${(before / MiB).toFixed(0)} MB → ${(after / MiB).toFixed(0)} MB`);
    const check = await v.read(0, MiB);
    if (check.length !== MiB) throw new Error('read after scrub failed');
    process.stdout.write(`scrub_mb_per_s=${(historyBytes / MiB / seconds).toFixed(1)} backend_after_ratio=${(after / before).toFixed(3)}\n`);
  } finally {
    await driver.stop();
  }
}

async function bytesOf(backend: LocalDirBackend, ns: string): Promise<number> {
  let n = 0;
  for (const name of await backend.list(ns)) n += await backend.size(ns, name);
  return n;
}

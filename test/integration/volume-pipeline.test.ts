import test from 'ava';
import { fsck } from '../../src/dataplane/backend/fsck.js';
import { directIoWorks } from '../../src/dataplane/common/aligned-pool.js';
import { harness, pattern, Shadow } from '../helpers/volume-harness.js';

const MiB = 1024 * 1024;
const KiB = 1024;

/** Deterministic pseudo-random numbers for the write mix. */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

for (const directIo of [true, false]) {
  test(`writes in flight together (direct I/O ${directIo ? 'on' : 'off'}): later-issued wins on overlap, across SCO and TLog boundaries; local restart and backend agree`, async (t) => {
    const h = await harness(undefined, undefined, undefined, { directIo });
    const size = 8 * MiB;
    const id = await h.driver.create_volume({ target_path: '/p.raw', volume_size: size });
    const v = h.driver.running(id)!;
    t.is(v.sco.direct, directIo && directIoWorks(v.dirs.wc), 'large SCO I/O uses O_DIRECT exactly when asked and possible');
    const shadow = new Shadow(size);
    const next = rng(7);
    const sizes = [4 * KiB, 12 * KiB, 64 * KiB, 200 * KiB, 1 * MiB, 3000];
    // Issued without waiting: the volume reserves in call order, so the shadow applies them in call order too.
    const pending: Array<Promise<void>> = [];
    for (let i = 0; i < 120; i++) {
      const len = sizes[Math.floor(next() * sizes.length)]!;
      const off = Math.floor(next() * (size / 2 - len)) + (i % 5 === 0 ? 0 : size / 2 - (i % 4) * 64 * KiB);
      const at = Math.max(0, Math.min(size - len, len === 3000 ? off + 17 : off - (off % 4096)));
      const buf = pattern(len, 100 + i);
      shadow.write(at, buf);
      pending.push(v.write(at, buf));
      if (i % 40 === 39) pending.push(v.sync()); // flushes in between
    }
    await Promise.all(pending);
    t.true((await v.read(0, size)).equals(shadow.data), 'reads after all writes');

    await h.driver.schedule_backend_sync({ volume_id: id });
    await v.queue.idle();
    t.deepEqual((await fsck(h.backend, id)).problems, []);

    const restarted = await h.restart();
    const again = restarted.running(id)!;
    t.true((await again.read(0, size)).equals(shadow.data), 'after a local restart');
    await h.close();
  });
}

test('large reads of data written both ways (page cache and O_DIRECT) return the same bytes', async (t) => {
  const h = await harness();
  const size = 4 * MiB;
  const id = await h.driver.create_volume({ target_path: '/r.raw', volume_size: size });
  const v = h.driver.running(id)!;
  const shadow = new Shadow(size);
  // 4 KiB writes stay in the page cache (dirty); 256 KiB writes bypass it; a 2 MiB read spans both kinds.
  for (let off = 0; off < 2 * MiB; off += 256 * KiB) {
    const big = pattern(256 * KiB, off);
    await v.write(off, big);
    shadow.write(off, big);
    const small = pattern(4 * KiB, off + 1);
    await v.write(off + 8 * KiB, small);
    shadow.write(off + 8 * KiB, small);
  }
  t.true((await v.read(0, 2 * MiB)).equals(shadow.data.subarray(0, 2 * MiB)));
  t.true((await v.read(4096 * 3 + 5, MiB)).equals(shadow.data.subarray(4096 * 3 + 5, 4096 * 3 + 5 + MiB)));
  await h.close();
});

test('a write does not hold the write mutex while its bytes are landing: the next write starts its I/O meanwhile', async (t) => {
  const h = await harness();
  const id = await h.driver.create_volume({ target_path: '/q.raw', volume_size: 4 * MiB });
  const v = h.driver.running(id)!;
  // Hold the first write's I/O until the second write has reached the SCO store (or 5 s passed: the bug).
  const started: number[] = [];
  let releasedBy: 'second write' | 'timeout' | undefined;
  let release!: () => void;
  const firstHeld = new Promise<void>((r) => (release = r));
  const releaseFirst = (by: 'second write' | 'timeout'): void => {
    releasedBy ??= by;
    release();
  };
  const timer = setTimeout(() => releaseFirst('timeout'), 5_000);
  const realWriteAt = v.sco.writeAt.bind(v.sco);
  v.sco.writeAt = async (sco, offset, data) => {
    const call = started.push(offset);
    if (call === 1) await firstHeld;
    else releaseFirst('second write');
    return realWriteAt(sco, offset, data);
  };
  const a = pattern(64 * KiB, 1);
  const b = pattern(64 * KiB, 2);
  const order: string[] = [];
  await Promise.all([
    v.write(0, a).then(() => order.push('first')),
    v.write(64 * KiB, b).then(() => order.push('second')),
  ]);
  clearTimeout(timer);
  t.is(started.length, 2);
  t.deepEqual(order, ['first', 'second'], 'commits still complete in reservation order');
  t.true((await v.read(0, 128 * KiB)).equals(Buffer.concat([a, b])));
  t.is(releasedBy, 'second write', 'the second write started its I/O while the first was still landing');
  await h.close();
});

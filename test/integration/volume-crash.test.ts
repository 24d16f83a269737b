import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtemp, open, readdir, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { fsck } from '../../src/dataplane/backend/fsck.js';
import { harness, pattern, Shadow } from '../helpers/volume-harness.js';

const CHILD = new URL('../helpers/volume-child.js', import.meta.url).pathname;
const MiB = 1024 * 1024;
const CLUSTER = 4096;

/** What the child wrote before it synced (same deterministic sequence). */
function syncedShadow(size: number): Shadow {
  const s = new Shadow(size);
  const half = size / 2;
  for (let i = 0; i < 40; i++) {
    const len = 4096 * (1 + ((i * 7) % 16));
    const off = ((i * 37 * 4096) % (half - len)) + (i % 3);
    s.write(off, pattern(len, 1000 + i));
  }
  return s;
}

test('I2: flushed data survives SIGKILL of the node process; the unflushed tail reverts per whole cluster, never mixed', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ovs-crash-'));
  const size = 8 * MiB;
  const child = spawn(process.execPath, [CHILD, dir, 'crashvol', String(size)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => b.toString().includes('synced') && resolve());
    child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
  });
  await new Promise((r) => setTimeout(r, 300)); // let it write unflushed data into the second half
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));

  const h = await harness(undefined, dir); // local restart of the registered volume
  const v = h.driver.running('crashvol')!;
  t.truthy(v, 'the volume restarted locally');
  const expected = syncedShadow(size);
  const image = await v.read(0, size);
  t.true(image.subarray(0, size / 2).equals(expected.data.subarray(0, size / 2)), 'everything flushed before the crash is there');
  // Second half: each cluster is all zeros or a whole cluster of some write of the child, never a mix.
  const digest = (b: Buffer): string => createHash('md5').update(b).digest('hex');
  const candidates = new Set<string>();
  for (let i = 0; i < 4000; i++) { // the child's WRITES
    const p = pattern(65536, 5000 + i);
    for (let c = 0; c < 16; c++) candidates.add(digest(p.subarray(c * CLUSTER, (c + 1) * CLUSTER)));
  }
  const zero = digest(Buffer.alloc(CLUSTER));
  let mixed = 0;
  let written = 0;
  for (let off = size / 2; off < size; off += CLUSTER) {
    const c = digest(image.subarray(off, off + CLUSTER));
    if (c !== zero && !candidates.has(c)) mixed++;
    if (c !== zero) written++;
  }
  t.is(mixed, 0);
  t.true(written > 0, 'the child wrote into the second half before it was killed');
  // The restarted volume keeps working and reaches the backend consistently.
  await v.write(0, pattern(CLUSTER, 1));
  await h.driver.schedule_backend_sync({ volume_id: 'crashvol' });
  await v.queue.idle();
  t.deepEqual((await fsck(h.backend, 'crashvol')).problems, []);
  await h.close();
  await rm(dir, { recursive: true, force: true });
});

async function tornScenario(t: import('ava').ExecutionContext, damage: (dir: string, ns: string) => Promise<void>): Promise<void> {
  const h = await harness();
  const id = await h.driver.create_volume({ target_path: '/t.raw', volume_size: 4 * MiB });
  const v = h.driver.running(id)!;
  const a = pattern(8 * CLUSTER, 1);
  const b = pattern(6 * CLUSTER, 2);
  await v.write(0, a);
  await v.write(MiB, b);
  await v.sync();
  await h.driver.stop();
  await damage(join(h.dir, 'data', 'pool'), id);
  const d = await h.restart();
  const r = d.running(id)!;
  t.true((await r.read(0, a.length)).equals(a), 'data before the damage is kept');
  const got = await r.read(MiB, b.length);
  t.true(got.subarray(0, 5 * CLUSTER).equals(b.subarray(0, 5 * CLUSTER)), 'all but the damaged last cluster kept');
  const last = got.subarray(5 * CLUSTER);
  t.true(last.equals(b.subarray(5 * CLUSTER)) || last.equals(Buffer.alloc(CLUSTER)), 'the damaged cluster is old or new, never mixed');
  await r.write(2 * MiB, pattern(CLUSTER * 20, 3));
  await d.schedule_backend_sync({ volume_id: id });
  await r.queue.idle();
  t.deepEqual((await fsck(h.backend, id)).problems, []);
  await h.close();
}

test('I19: a TLog torn mid-record loses nothing before the tear', async (t) => {
  await tornScenario(t, async (root, ns) => {
    const dir = join(root, 'tlogs', ns);
    const [f] = await readdir(dir);
    const p = join(dir, f!);
    await truncate(p, (await stat(p)).size - 10);
  });
});

test('I19: a shortened current SCO loses only the clusters beyond its end', async (t) => {
  await tornScenario(t, async (root, ns) => {
    const dir = join(root, 'wc', ns);
    const scos = (await readdir(dir)).sort();
    const p = join(dir, scos[scos.length - 1]!);
    const h = await open(p, 'r+');
    await h.truncate((await h.stat()).size - CLUSTER);
    await h.close();
  });
});

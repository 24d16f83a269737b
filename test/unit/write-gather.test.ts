import test from 'ava';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WriteGather } from '../../src/dataplane/datastore/write-gather.js';

async function withFiles(n: number, body: (paths: string[], fds: number[]) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ovs-gather-'));
  const paths = Array.from({ length: n }, (_, i) => join(dir, `f${i}`));
  const fds = paths.map((p) => openSync(p, 'w+'));
  try {
    await body(paths, fds);
  } finally {
    for (const fd of fds) closeSync(fd);
    await rm(dir, { recursive: true, force: true });
  }
}

const block = (seed: number, bytes = 4096): Buffer => Buffer.alloc(bytes, seed);

test('writes of one turn land where they were aimed: contiguous runs, gaps, two files, out of order; nothing before the turn ends', async (t) => {
  await withFiles(2, async ([a, b], [fa, fb]) => {
    const g = new WriteGather();
    const plan: Array<[number, number, number]> = [[fa!, 0, 1], [fa!, 4096, 2], [fa!, 8192, 3], [fb!, 4096, 4], [fa!, 20480, 5], [fa!, 12288, 6], [fb!, 0, 7]];
    const done = plan.map(([fd, at, seed]) => g.write(fd, block(seed), at));
    t.is(readFileSync(a!).length, 0, 'nothing written before the end of the turn');
    await Promise.all(done);
    const fileA = readFileSync(a!);
    const fileB = readFileSync(b!);
    for (const [fd, at, seed] of plan) t.true((fd === fa ? fileA : fileB).subarray(at, at + 4096).equals(block(seed)), `${seed} at ${at}`);
    t.true(fileA.subarray(16384, 20480).equals(Buffer.alloc(4096)), 'the gap stays a hole');
  });
});

test('a failing file rejects only its own writes; flush() writes at once; more than IOV_MAX buffers in one run', async (t) => {
  await withFiles(1, async ([a], [fa]) => {
    const g = new WriteGather();
    // Opened for reading only: a write to it fails (not a closed descriptor, whose number another test may reuse).
    const readOnly = openSync(a!, 'r');
    const good = g.write(fa!, block(9), 0);
    const bad = g.write(readOnly, block(8), 0);
    await t.throwsAsync(bad, { code: 'EBADF' });
    closeSync(readOnly);
    await good;
    t.true(readFileSync(a!).subarray(0, 4096).equals(block(9)));

    const many = Array.from({ length: 1500 }, (_, i) => g.write(fa!, block(i % 251, 512), 4096 + i * 512));
    g.flush();
    const file = readFileSync(a!);
    t.is(file.length, 4096 + 1500 * 512, 'written by flush(), before the turn ended');
    await Promise.all(many);
    for (let i = 0; i < 1500; i++) t.true(file.subarray(4096 + i * 512, 4096 + (i + 1) * 512).equals(block(i % 251, 512)));
  });
});

import test from 'ava';
import { ClusterCache } from '../../src/dataplane/cache/cluster-cache.js';

const CS = 4096;
const cluster = (fill: number): Buffer => Buffer.alloc(CS, fill);

test('put then get returns the bytes; a put replaces them; volumes do not see each other', (t) => {
  const c = new ClusterCache(CS, 8);
  const a = c.view();
  const b = c.view();
  a.put(5, cluster(1), 0);
  const out = Buffer.alloc(2 * CS);
  t.true(a.get(5, out, CS));
  t.true(out.subarray(CS).equals(cluster(1)));
  t.false(b.get(5, out, 0));
  a.put(5, Buffer.concat([cluster(9), cluster(2)]), CS);
  t.true(a.get(5, out, 0));
  t.true(out.subarray(0, CS).equals(cluster(2)));
  t.is(a.size, 1);
});

test('CLOCK keeps recently used clusters and evicts the others when full', (t) => {
  const c = new ClusterCache(CS, 4);
  const v = c.view();
  for (let ca = 0; ca < 4; ca++) v.put(ca, cluster(ca), 0);
  const out = Buffer.alloc(CS);
  // The first claim of a full cache clears every reference bit and evicts slot 0 (cluster 0).
  v.put(10, cluster(10), 0);
  t.false(v.get(0, out, 0));
  t.true(v.get(1, out, 0)); // referenced again: survives the next sweep
  v.put(11, cluster(11), 0);
  t.true(v.get(1, out, 0));
  t.true(out.equals(cluster(1)));
  t.false(v.get(2, out, 0));
  t.is(v.size, 4);
});

test('clear and close free the slots for other volumes', (t) => {
  const c = new ClusterCache(CS, 2);
  const a = c.view();
  a.put(1, cluster(1), 0);
  a.put(2, cluster(2), 0);
  a.clear();
  t.is(a.size, 0);
  const b = c.view();
  b.put(7, cluster(7), 0);
  b.put(8, cluster(8), 0);
  const out = Buffer.alloc(CS);
  t.true(b.get(7, out, 0) && b.get(8, out, 0));
  b.close();
  b.put(9, cluster(9), 0); // ignored after close
  t.false(b.get(9, out, 0));
  a.put(3, cluster(3), 0);
  t.true(a.get(3, out, 0));
});

test('putRun stores a run in one piece or many and reads back per cluster, across the hand wrapping', (t) => {
  const c = new ClusterCache(CS, 10);
  const v = c.view();
  const run = (first: number, n: number, seed: number): Buffer => Buffer.concat(Array.from({ length: n }, (_, k) => cluster((seed + k) & 0xff)));
  v.putRun(100, 6, run(100, 6, 1), 0); // slots 0..5
  v.put(102, cluster(77), 0); // in place, inside the run
  v.putRun(200, 7, run(200, 7, 50), 0); // wraps around the end of the slab and evicts
  const out = Buffer.alloc(CS);
  for (let k = 0; k < 7; k++) {
    t.true(v.get(200 + k, out, 0), `cluster ${200 + k}`);
    t.true(out.equals(cluster(50 + k)));
  }
  t.is(v.size, 10);
  // Overwriting a run whose slots are no longer consecutive still lands every cluster in its own slot.
  v.putRun(199, 4, run(199, 4, 90), 0);
  for (let k = 0; k < 4; k++) {
    t.true(v.get(199 + k, out, 0));
    t.true(out.equals(cluster(90 + k)));
  }
});

test('getRun copies cached clusters up to the first miss, merging consecutive slots, across scattered slots too', (t) => {
  const c = new ClusterCache(CS, 16);
  const v = c.view();
  // 0..5 in one run (consecutive slots), then 6 and 7 put separately after an unrelated cluster: scattered slots.
  v.putRun(0, 6, Buffer.concat(Array.from({ length: 6 }, (_, k) => cluster(k + 1))), 0);
  v.put(100, cluster(0xee), 0);
  v.put(7, cluster(8), 0);
  v.put(6, cluster(7), 0);
  const out = Buffer.alloc(10 * CS, 0xaa);
  t.is(v.getRun(0, 10, out, CS), 8, 'stops at cluster 8, the first miss');
  for (let k = 0; k < 8; k++) t.true(out.subarray((k + 1) * CS, (k + 2) * CS).equals(cluster(k + 1)), `cluster ${k}`);
  t.true(out.subarray(0, CS).equals(Buffer.alloc(CS, 0xaa)), 'nothing written before `at`');
  t.is(v.getRun(8, 2, out, 0), 0);
  t.is(v.getRun(3, 2, out, 0), 2, 'at most n');
});

test('the slot index shrinks with evictions: it follows what is cached, not every address ever cached', (t) => {
  const c = new ClusterCache(CS, 4);
  const v = c.view();
  // One cluster in each of 100 different 1 MiB regions; the cache holds 4, so at most 4 index pages stay.
  for (let k = 0; k < 100; k++) v.put(k * 256 + 3, cluster(k), 0);
  t.is(v.size, 4);
  t.true(v.indexPages <= 4, `${v.indexPages} index pages`);
  const out = Buffer.alloc(CS);
  t.true(v.get(99 * 256 + 3, out, 0));
  t.true(out.equals(cluster(99)));
  v.clear();
  t.is(v.indexPages, 0);
});

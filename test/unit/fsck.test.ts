import test from 'ava';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fsck } from '../../src/dataplane/backend/fsck.js';
import { LocalDirBackend } from '../../src/dataplane/backend/local-dir.js';
import { crc32 } from '../../src/dataplane/common/crc32.js';
import { crc32c } from '../../src/dataplane/common/crc32c.js';
import { newTLogName, scoName } from '../../src/dataplane/common/names.js';
import type { SnapshotsFile } from '../../src/dataplane/snapshots/types.js';
import type { TLogRecord } from '../../src/dataplane/tlog/record.js';
import { TLogWriter } from '../../src/dataplane/tlog/writer.js';

const CS = 4096;
const dirs: string[] = [];
test.after.always(async () => {
  await Promise.all(dirs.map((d) => fs.rm(d, { recursive: true, force: true })));
});

function cluster(seed: number): Buffer {
  return Buffer.alloc(CS, seed);
}

/** Two SCOs in snapshot s1's TLog, one in a written current TLog, plus the open current TLog (not on the backend). */
async function build(algo: 'crc32c' | 'crc32' = 'crc32c'): Promise<{ b: LocalDirBackend; snaps: SnapshotsFile; tlogs: string[] }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ovs-fsck-'));
  dirs.push(dir);
  const b = new LocalDirBackend(path.join(dir, 'backend'));
  await b.createNamespace('ns');
  const scoClusters = new Map<number, number>([[1, 3], [2, 2], [3, 1]]);
  const recordsFor = new Map<number, TLogRecord[]>();
  let ca = 0;
  for (const [number, n] of scoClusters) {
    const data = Buffer.concat(Array.from({ length: n }, (_, i) => cluster(number * 16 + i)));
    await b.put('ns', scoName(number), data);
    const recs: TLogRecord[] = Array.from({ length: n }, (_, i) => ({
      kind: 'loc',
      ca: ca++,
      loc: { cloneId: 0, number, version: 0, offset: i },
      hash: createHash('md5').update(data.subarray(i * CS, (i + 1) * CS)).digest(),
    }));
    recs.push(algo === 'crc32' ? { kind: 'sco_crc', crc: crc32(data), algo } : { kind: 'sco_crc', crc: crc32c(data) });
    recordsFor.set(number, recs);
  }
  const tlogs = [newTLogName(), newTLogName(), newTLogName()];
  const groups = [[1, 2], [3]];
  for (const [i, numbers] of groups.entries()) {
    const file = path.join(dir, tlogs[i]!);
    const w = await TLogWriter.open(file);
    for (const n of numbers) w.add(recordsFor.get(n)!);
    await w.close();
    await b.put('ns', tlogs[i]!, { path: file });
  }
  const snaps: SnapshotsFile = {
    version: 1,
    parent: null,
    current: [{ id: tlogs[1]!, written: true, size: CS }, { id: tlogs[2]!, written: false, size: 0 }],
    snapshots: [{ num: 1, name: 's1', uuid: 'u1', date: 'Thu Jan  1 00:00:00 2026', metadata: '', scrubbed: false, tlogs: [{ id: tlogs[0]!, written: true, size: 5 * CS }] }],
    scrubId: 'scrub-1',
    lastScoNumber: 3,
    useHash: true,
  };
  await putSnaps(b, snaps);
  await b.put('ns', 'volume_configuration', Buffer.from(JSON.stringify({ volumeId: 'v', clusterSize: CS })));
  return { b, snaps, tlogs };
}

async function putSnaps(b: LocalDirBackend, snaps: SnapshotsFile): Promise<void> {
  await b.put('ns', 'snapshots.json', Buffer.from(JSON.stringify(snaps)), { overwrite: true });
}

async function problems(b: LocalDirBackend): Promise<string[]> {
  const r = await fsck(b, 'ns');
  return r.problems;
}

test('a consistent namespace passes', async (t) => {
  const { b } = await build();
  t.deepEqual(await fsck(b, 'ns'), { ok: true, problems: [] });
});

test('missing snapshots.json or namespace', async (t) => {
  const { b } = await build();
  await b.delete('ns', 'snapshots.json');
  t.deepEqual(await fsck(b, 'ns'), { ok: false, problems: ['snapshots.json is missing'] });
  t.false((await fsck(b, 'nope')).ok);
});

test('missing SCO', async (t) => {
  const { b } = await build();
  await b.delete('ns', scoName(2));
  const p = await problems(b);
  t.is(p.length, 1);
  t.regex(p[0]!, /^SCO 00_00000002_00 referenced by TLog tlog_\S+ is missing$/);
});

test('short SCO', async (t) => {
  const { b } = await build();
  await b.put('ns', scoName(1), Buffer.concat([cluster(16), cluster(17)]), { overwrite: true });
  t.regex((await problems(b)).join('\n'), /SCO 00_00000001_00 is short: 8192 bytes < 12288/);
});

for (const algo of ['crc32c', 'crc32'] as const) {
  test(`bad SCO CRC (${algo} records)`, async (t) => {
    const { b } = await build(algo);
    t.deepEqual(await problems(b), [], 'intact before');
    await b.put('ns', scoName(3), cluster(99), { overwrite: true });
    const p = await problems(b);
    t.is(p.length, 1);
    t.regex(p[0]!, new RegExp(`SCO 00_00000003_00 CRC mismatch \\(${algo}\\)`));
  });
}

test('flipped TLog byte', async (t) => {
  const { b, tlogs } = await build();
  const buf = await b.get('ns', tlogs[0]!);
  buf[40]! ^= 1;
  await b.put('ns', tlogs[0]!, buf, { overwrite: true });
  const p = await problems(b);
  t.is(p.length, 1);
  t.regex(p[0]!, new RegExp(`TLog ${tlogs[0]} is corrupt: TLog CRC mismatch`));
});

test('missing written TLog', async (t) => {
  const { b, tlogs } = await build();
  await b.delete('ns', tlogs[1]!);
  t.deepEqual(await problems(b), [`TLog ${tlogs[1]} is flagged written but missing`]);
});

test('overlapping snapshot TLog lists', async (t) => {
  const { b, snaps, tlogs } = await build();
  snaps.snapshots.push({ ...snaps.snapshots[0]!, num: 2, name: 's2', tlogs: [{ id: tlogs[1]!, written: true, size: CS }] });
  await putSnaps(b, snaps);
  t.deepEqual(await problems(b), [`TLog ${tlogs[1]} listed in both snapshot s2 and current`]);
  snaps.snapshots[1]!.tlogs = [{ id: tlogs[0]!, written: true, size: CS }];
  await putSnaps(b, snaps);
  t.deepEqual(await problems(b), [`TLog ${tlogs[0]} listed in both snapshot s1 and snapshot s2`]);
});

test('lastScoNumber too low', async (t) => {
  const { b, snaps } = await build();
  snaps.lastScoNumber = 2;
  await putSnaps(b, snaps);
  t.deepEqual(await problems(b), [`lastScoNumber 2 < referenced SCO number 3 (${scoName(3)})`]);
});

test('cluster size comes from volume_configuration', async (t) => {
  const { b } = await build();
  await b.put('ns', 'volume_configuration', Buffer.from(JSON.stringify({ clusterSize: 2 * CS })), { overwrite: true });
  t.is((await problems(b)).filter((p) => / is short: /.test(p)).length, 3);
});

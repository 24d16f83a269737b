import test from 'ava';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32c } from '../../src/dataplane/common/crc32c.js';
import { RECORD_BYTES, type TLogRecord, ZERO_HASH, decodeRecord, encodeLocRun, encodeRecord } from '../../src/dataplane/tlog/record.js';
import { backward, lastLocation, readTLog, validateTLog } from '../../src/dataplane/tlog/reader.js';
import { TLogWriter } from '../../src/dataplane/tlog/writer.js';

const hash = (seed: number): Buffer => Buffer.from(Array.from({ length: 16 }, (_, i) => (seed * 31 + i) & 0xff));
const loc = (ca: number, number: number, offset: number, version = 0, cloneId = 0, h = hash(ca)): TLogRecord => ({ kind: 'loc', ca, loc: { cloneId, number, version, offset }, hash: h });

const dirs: string[] = [];
test.after.always(async () => {
  await Promise.all(dirs.map((d) => fs.rm(d, { recursive: true, force: true })));
});

async function tmpdir(): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'ovs-tlog-'));
  dirs.push(d);
  return d;
}

test('records round-trip for all kinds and edge values', (t) => {
  const records: TLogRecord[] = [
    loc(0, 1, 0),
    loc(2 ** 35 - 1, 2 ** 32 - 1, 0xffff, 0xff, 0xff),
    loc(2 ** 32, 7, 3, 1, 2, ZERO_HASH),
    loc(2 ** 32 - 1, 0x12345678, 42),
    { kind: 'tlog_crc', crc: 0 },
    { kind: 'tlog_crc', crc: 0xffffffff },
    { kind: 'sco_crc', crc: 0xdeadbeef },
    { kind: 'sco_crc', crc: 0xfeedface, algo: 'crc32' },
  ];
  const buf = Buffer.alloc(records.length * RECORD_BYTES);
  records.forEach((r, i) => encodeRecord(r, buf, i * RECORD_BYTES));
  t.deepEqual(records.map((_, i) => decodeRecord(buf, i * RECORD_BYTES)), records);
  t.is(encodeRecord(records[0]!).length, 32);
});

test('record layout follows C2.2', (t) => {
  const b = encodeRecord(loc(2 ** 34 + 5, 0x01020304, 0x0a0b, 0x0c, 0x0d));
  t.is(b.readUInt32LE(0), 5);
  t.is(b.readUInt32LE(4), 4);
  t.is(b.readUInt16LE(8), 0x0a0b);
  t.is(b[10], 0x0c);
  t.is(b.readUInt32LE(11), 0x01020304);
  t.is(b[15], 0x0d);
  t.deepEqual(b.subarray(16), hash(2 ** 34 + 5));
  const c = encodeRecord({ kind: 'sco_crc', crc: 0xcafebabe });
  t.is(c.readUInt32LE(0), 0xcafebabe);
  t.is(c.readUInt32LE(4), 2);
  t.is(c.readUInt32LE(11), 0);
  t.is(encodeRecord({ kind: 'tlog_crc', crc: 1 }).readUInt32LE(4), 1);
});

test('bad records are refused', (t) => {
  t.throws(() => encodeRecord(loc(1, 0, 0)), { instanceOf: RangeError });
  t.throws(() => encodeRecord(loc(1, 2 ** 32, 0)), { instanceOf: RangeError });
  t.throws(() => encodeRecord(loc(1, 1, 0x10000)), { instanceOf: RangeError });
  t.throws(() => encodeRecord(loc(-1, 1, 0)), { instanceOf: RangeError });
  t.throws(() => decodeRecord(Buffer.alloc(32)), { instanceOf: RangeError }, 'an all-zero record is not a record');
  t.throws(() => decodeRecord(Buffer.alloc(31)), { instanceOf: RangeError });
});

test('writer and reader round trip; close appends a matching TLog CRC', async (t) => {
  const file = path.join(await tmpdir(), 'tlog_a');
  const w = await TLogWriter.open(file);
  const recs: TLogRecord[] = [loc(10, 1, 0), loc(11, 1, 1), { kind: 'sco_crc', crc: 123 }, loc(3, 2, 0)];
  w.add(recs.slice(0, 2));
  t.is(w.size, 64);
  await w.sync();
  t.is((await fs.stat(file)).size, 64);
  w.add(recs.slice(2));
  const crc = await w.close();
  const buf = await fs.readFile(file);
  t.is(buf.length, 5 * 32);
  t.is(crc, crc32c(buf.subarray(0, 4 * 32)));
  const back = await readTLog(file);
  t.deepEqual(back, [...recs, { kind: 'tlog_crc', crc }]);
  t.deepEqual(validateTLog(buf, { closed: true }), { validRecords: 5, validBytes: 160 });
  t.deepEqual(lastLocation(back), recs[3]);
  t.deepEqual([...backward([1, 2, 3])], [3, 2, 1]);
  t.throws(() => w.add(recs));
});

test('a flipped bit fails the TLog CRC', async (t) => {
  const file = path.join(await tmpdir(), 'tlog_b');
  const w = await TLogWriter.open(file);
  w.add([loc(1, 1, 0), loc(2, 1, 1), loc(3, 1, 2)]);
  await w.close();
  const buf = await fs.readFile(file);
  for (const byte of [0, 20, 40, 95, 100]) {
    const bad = Buffer.from(buf);
    bad[byte]! ^= 0x10;
    const v = validateTLog(bad, { closed: true });
    t.is(v.validRecords, 0, `byte ${byte}`);
    t.truthy(v.error);
  }
  t.regex(validateTLog(buf.subarray(0, 96), { closed: true }).error ?? '', /does not end with a TLog CRC/);
});

test('a torn current TLog validates up to its last whole record', async (t) => {
  const file = path.join(await tmpdir(), 'tlog_c');
  const w = await TLogWriter.open(file);
  w.add([loc(1, 1, 0), loc(2, 1, 1), loc(3, 1, 2)]);
  await w.sync();
  await w.abandon();
  const buf = (await fs.readFile(file)).subarray(0, 3 * 32 - 7);
  const v = validateTLog(buf, { closed: false });
  t.is(v.validRecords, 2);
  t.is(v.validBytes, 64);
  t.regex(v.error ?? '', /torn/);
  t.is((await readTLog(buf)).length, 2);
  const zeroTail = Buffer.concat([buf.subarray(0, 64), Buffer.alloc(64)]);
  t.is(validateTLog(zeroTail, { closed: false }).validRecords, 2, 'a zero-filled tail is not trusted');
  t.deepEqual(validateTLog(buf.subarray(0, 64), { closed: false }), { validRecords: 2, validBytes: 64 });
});

test('append mode continues the running CRC (and cuts a torn tail)', async (t) => {
  const dir = await tmpdir();
  const file = path.join(dir, 'tlog_d');
  const w1 = await TLogWriter.open(file);
  w1.add([loc(1, 1, 0), loc(2, 1, 1)]);
  await w1.sync();
  await w1.abandon();
  await fs.appendFile(file, Buffer.alloc(5, 0xee)); // torn write
  const w2 = await TLogWriter.open(file, { append: true });
  t.is(w2.size, 64);
  w2.add([{ kind: 'sco_crc', crc: 77 }, loc(3, 2, 0)]);
  const crc = await w2.close();

  const ref = path.join(dir, 'tlog_ref');
  const w3 = await TLogWriter.open(ref);
  w3.add([loc(1, 1, 0), loc(2, 1, 1), { kind: 'sco_crc', crc: 77 }, loc(3, 2, 0)]);
  t.is(await w3.close(), crc);
  const buf = await fs.readFile(file);
  t.deepEqual(buf, await fs.readFile(ref));
  t.is(validateTLog(buf, { closed: true }).error, undefined);

  const fresh = path.join(dir, 'tlog_new');
  const w4 = await TLogWriter.open(fresh, { append: true });
  w4.add([loc(9, 9, 9)]);
  await w4.close();
  t.is(validateTLog(await fs.readFile(fresh), { closed: true }).validRecords, 2);
});

test('records added while a sync is in flight are kept', async (t) => {
  const file = path.join(await tmpdir(), 'tlog_e');
  const w = await TLogWriter.open(file);
  w.add([loc(1, 1, 0)]);
  const s = w.sync();
  w.add([loc(2, 1, 1)]);
  await s;
  await w.close();
  t.deepEqual((await readTLog(file)).map((r) => r.kind), ['loc', 'loc', 'tlog_crc']);
});

test('encodeLocRun writes the same bytes as one encodeRecord per cluster, and refuses what would not fit', (t) => {
  for (const [firstCa, n, sco, off] of [[0, 1, 1, 0], [255, 300, 7, 100], [2 ** 33 + 5, 17, 2 ** 32 - 1, 65_519]] as const) {
    const each = Buffer.concat(
      Array.from({ length: n }, (_, i) => encodeRecord({ kind: 'loc', ca: firstCa + i, loc: { cloneId: 0, number: sco, version: 0, offset: off + i }, hash: Buffer.alloc(16) })),
    );
    t.true(encodeLocRun(firstCa, n, sco, off).equals(each), `run at ${firstCa}`);
  }
  t.throws(() => encodeLocRun(0, 2, 1, 0xffff), { instanceOf: RangeError });
  t.throws(() => encodeLocRun(0, 1, 0, 0), { instanceOf: RangeError });
});

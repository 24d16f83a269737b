import test from 'ava';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DtlEntry } from '../../src/dataplane/dtl/messages.js';
import { DtlStore } from '../../src/dataplane/dtl/store.js';

const dirs: string[] = [];
test.after.always(async () => {
  await Promise.all(dirs.map((d) => fs.rm(d, { recursive: true, force: true })));
});

async function tmpdir(): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'ovs-dtl-store-'));
  dirs.push(d);
  return d;
}

const entry = (scoNumber: number, offset: number, fill: number): DtlEntry => ({ location: { scoNumber, offset }, lba: BigInt(offset * 8 + scoNumber), data: Buffer.alloc(512, fill) });

async function allEntries(store: DtlStore, ns: string, onlySco?: number): Promise<DtlEntry[]> {
  const out: DtlEntry[] = [];
  await (await store.namespace(ns)).forEachEntry(async (e) => void out.push(e), onlySco);
  return out;
}

test('entries come back in SCO then append order; removeUpTo and clear delete files', async (t) => {
  const root = await tmpdir();
  const store = new DtlStore(root);
  const log = await store.namespace('ns1');
  const written = [entry(2, 0, 1), entry(2, 1, 2), entry(1, 0, 3), entry(3, 0, 4)];
  await log.append(written);
  await log.flush();
  t.deepEqual(await allEntries(store, 'ns1'), [written[2], written[0], written[1], written[3]]);
  t.deepEqual(await allEntries(store, 'ns1', 2), [written[0], written[1]]);
  t.deepEqual(await log.range(), { oldest: 1, youngest: 3 });
  await log.removeUpTo(2);
  t.deepEqual(await fs.readdir(path.join(root, 'ns1')), ['3.dtl']);
  t.deepEqual(await log.range(), { oldest: 3, youngest: 3 });
  await log.clear();
  t.is(await log.range(), undefined);
  await store.drop('ns1');
  await t.throwsAsync(fs.stat(path.join(root, 'ns1')));
  await store.close();
});

test('a reopened store rebuilds its index from the files, cuts a torn last record and keeps the owner tag', async (t) => {
  const root = await tmpdir();
  const first = new DtlStore(root);
  const log = await first.namespace('ns1');
  await log.setOwnerTag(7n);
  await log.append([entry(5, 0, 1), entry(5, 1, 2), entry(6, 0, 3)]);
  await log.flush();
  await first.close();
  const file = path.join(root, 'ns1', '6.dtl');
  const whole = await fs.readFile(file);
  await fs.writeFile(file, Buffer.concat([whole, whole.subarray(0, 100)]));
  const corrupt = path.join(root, 'ns1', '5.dtl');
  const five = await fs.readFile(corrupt);
  five.writeUInt8(five.readUInt8(five.length - 1) ^ 0xff, five.length - 1);
  await fs.writeFile(corrupt, five);

  const second = new DtlStore(root);
  t.deepEqual(await allEntries(second, 'ns1'), [entry(5, 0, 1), entry(6, 0, 3)]);
  t.is((await fs.stat(file)).size, whole.length);
  t.is((await second.namespace('ns1')).ownerTag, 7n);
  await (await second.namespace('ns1')).append([entry(6, 1, 9)]);
  t.deepEqual(await allEntries(second, 'ns1', 6), [entry(6, 0, 3), entry(6, 1, 9)]);
  await second.close();
});

test('namespaces that could leave the store directory are refused', async (t) => {
  const store = new DtlStore(await tmpdir());
  for (const ns of ['..', '../x', 'a/b', '', '.hidden']) await t.throwsAsync(store.namespace(ns), { instanceOf: RangeError });
});

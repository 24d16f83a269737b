import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { packLoc, unpackLoc } from '../../src/dataplane/metadata/location.js';
import { MetadataStore } from '../../src/dataplane/metadata/metadata-store.js';
import { PageTable } from '../../src/dataplane/metadata/page-table.js';

test('runs and single writes land in the newest cork, shadow older ones, and reach the table on uncork', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ovs-meta-'));
  const table = await PageTable.open(dir);
  const meta = new MetadataStore(table);
  meta.cork('t1');
  meta.writeRun(250, 20, 3, 1000); // crosses a page boundary at 256
  meta.write(600, packLoc({ cloneId: 0, number: 9, version: 2, offset: 5 }));
  meta.cork('t2');
  meta.writeRun(260, 2, 4, 0);

  const expect = (ca: number): unknown => {
    if (ca === 260 || ca === 261) return { cloneId: 0, number: 4, version: 0, offset: ca - 260 };
    if (ca >= 250 && ca < 270) return { cloneId: 0, number: 3, version: 0, offset: 1000 + ca - 250 };
    if (ca === 600) return { cloneId: 0, number: 9, version: 2, offset: 5 };
    return null;
  };
  const all = (): unknown[] => Array.from({ length: 700 }, (_, ca) => { const raw = meta.read(ca); return raw ? unpackLoc(raw) : null; });
  t.deepEqual(all(), Array.from({ length: 700 }, (_, ca) => expect(ca)));

  await meta.uncork('t1');
  t.deepEqual(all(), Array.from({ length: 700 }, (_, ca) => expect(ca)), 'same answers with t1 in the table');
  t.is(table.meta.usedClusters, 21);
  t.is(unpackLoc(table.get(260)!)!.number, 3, 'the table holds t1 until t2 is uncorked');
  await meta.uncork('t2');
  t.is(unpackLoc(table.get(260)!)!.number, 4);
  t.throws(() => meta.writeRun(0, 2, 1, 0xffff), { instanceOf: RangeError });
  await table.close();
  await rm(dir, { recursive: true, force: true });
});

import test from 'ava';
import { join } from 'node:path';
import { fsck } from '../../src/dataplane/backend/fsck.js';
import { PageTable, PAGE_BYTES, ENTRY_BYTES } from '../../src/dataplane/metadata/page-table.js';
import { unpackLoc } from '../../src/dataplane/metadata/location.js';
import { allTLogs } from '../../src/dataplane/snapshots/persistor.js';
import { downloadSnapshots, volumeChain } from '../../src/dataplane/volume/chain.js';
import { Shadow, pattern } from '../helpers/volume-harness.js';
import { dumpMds, KiB, lastWrittenTLog, mdsEnv, MiB, replayOf, round, waitMaster, type MdsEnv } from './mds-env.js';

async function volumeOn(env: MdsEnv, id = 'v'): Promise<{ ns: string; ownerTag: number; shadow: Shadow }> {
  await env.h.driver.create_volume({ target_path: `/${id}.raw`, volume_size: 4 * MiB, volume_id: id });
  const info = env.h.driver.info_volume({ volume_id: id });
  await waitMaster(env.client(0), info.namespace, info.owner_tag);
  // What the framework does for the other services of the list (ensure_safety): a SLAVE table of the namespace.
  for (let i = 1; i < env.addrs.length; i++) await env.client(i).create_namespace(info.namespace);
  return { ns: info.namespace, ownerTag: info.owner_tag, shadow: new Shadow(4 * MiB) };
}

/** The clone ids found in a dumped table's locations. */
function cloneIds(pages: Record<number, string>): number[] {
  const ids = new Set<number>();
  for (const hex of Object.values(pages)) {
    const page = Buffer.from(hex, 'hex');
    for (let at = 0; at < PAGE_BYTES; at += ENTRY_BYTES) {
      const loc = unpackLoc(page, at);
      if (loc) ids.add(loc.cloneId);
    }
  }
  return [...ids].sort((a, b) => a - b);
}

test('I5: the master equals the replay of the backend up to its cork; a slave counts the TLogs behind and equals the master after catch_up', async (t) => {
  const env = await mdsEnv(3);
  try {
    const { ns, shadow } = await volumeOn(env);
    const v = env.h.driver.running('v')!;
    const [master, slave] = [env.client(0), env.client(1)];
    t.is((await slave.catch_up(ns, true)).tlogs, 0, 'nothing in the backend yet');

    const N = 3;
    for (let r = 1; r <= N; r++) await round(env, v, shadow, r);
    t.is(allTLogs(v.doc).filter((x) => x.written).length, N, 'one TLog per backend sync');

    const m = await dumpMds(master, ns);
    t.not(m.meta.corkId, null);
    t.is(m.meta.corkId, lastWrittenTLog(v), "the master's cork is the backend's last TLog");
    t.true(Object.keys(m.pages).length > 0 && m.meta.usedClusters > 0);
    t.deepEqual(m, await replayOf(env.h.backend, ns), 'master == replay of the backend chain');
    t.deepEqual(await master.catch_up(ns, false), { tlogs: 0, full: false, corkId: m.meta.corkId }, 'catch_up on a MASTER does nothing');

    t.is((await slave.catch_up(ns, true)).tlogs, N, `${N} TLogs behind after ${N} uploads`);
    t.like(await slave.catch_up(ns, false), { tlogs: N, full: false, corkId: m.meta.corkId });
    t.is((await slave.catch_up(ns, true)).tlogs, 0, 'and none after the catch-up');
    t.deepEqual(await dumpMds(slave, ns), m, 'slave == master');

    // Incremental: one more upload, the slave replays just that one.
    await round(env, v, shadow, 9);
    t.is((await slave.catch_up(ns, true)).tlogs, 1);
    t.like(await slave.catch_up(ns, false), { tlogs: 1, full: false });
    t.deepEqual(await dumpMds(slave, ns), await dumpMds(master, ns));
    t.deepEqual(await dumpMds(master, ns), await replayOf(env.h.backend, ns));
    t.true((await v.read(0, 4 * MiB)).equals(shadow.data), "data read back equal");
    t.true((await fsck(env.h.backend, ns)).ok);
  } finally {
    await env.close();
  }
});

test('I5: a slave whose scrubId is stale rebuilds fully (a page the backend never had goes)', async (t) => {
  const env = await mdsEnv(2);
  try {
    const { ns, shadow } = await volumeOn(env);
    const v = env.h.driver.running('v')!;
    const slave = env.client(1);
    for (let r = 1; r <= 2; r++) await round(env, v, shadow, r);
    await slave.catch_up(ns, false);

    // The slave's table as a scrub elsewhere would leave it: another scrub id, and a page the backend chain lacks.
    await env.stopServer(1);
    const table = await PageTable.open(join(env.h.dir, 'mds1', ns));
    table.setPage(14, pattern(PAGE_BYTES, 77));
    await table.barrier({ scrubId: 'stale-scrub-id' });
    await table.close();
    await env.startServer(1);

    const dry = await slave.catch_up(ns, true);
    t.true(dry.full);
    t.is(dry.tlogs, 2, 'a full rebuild replays every TLog');
    t.like(await slave.catch_up(ns, false), { full: true, tlogs: 2 });
    const s = await dumpMds(slave, ns);
    t.false(14 in s.pages);
    t.deepEqual(s, await dumpMds(env.client(0), ns));
    t.deepEqual(s, await replayOf(env.h.backend, ns));
    t.is((await slave.catch_up(ns, true)).tlogs, 0);
  } finally {
    await env.close();
  }
});

test("I5: a clone's tables hold its parents' locations with clone id = depth", async (t) => {
  const env = await mdsEnv(2);
  try {
    const { ns, shadow } = await volumeOn(env);
    const d = env.h.driver;
    const v = d.running('v')!;
    await round(env, v, shadow, 1);
    await d.create_snapshot({ volume_id: 'v', snapshot_id: 's1' });
    await v.queue.idle();

    await d.create_clone({ target_path: '/c1.raw', parent_volume_id: 'v', parent_snapshot_id: 's1', volume_id: 'c1' });
    const c1 = d.running('c1')!;
    const c1Info = d.info_volume({ volume_id: 'c1' });
    await waitMaster(env.client(0), c1Info.namespace, c1Info.owner_tag);
    const fresh = await dumpMds(env.client(0), c1Info.namespace);
    t.deepEqual(cloneIds(fresh.pages), [1], 'a fresh clone: only its parent (depth 1)');
    t.deepEqual(fresh, await replayOf(env.h.backend, c1Info.namespace));

    const own = pattern(8 * KiB, 5);
    await c1.write(2 * MiB, own);
    await d.schedule_backend_sync({ volume_id: 'c1' });
    await c1.queue.idle();
    await d.create_snapshot({ volume_id: 'c1', snapshot_id: 'cs1' });
    await c1.queue.idle();
    await d.create_clone({ target_path: '/c2.raw', parent_volume_id: 'c1', parent_snapshot_id: 'cs1', volume_id: 'c2' });
    const c2 = d.running('c2')!;
    const c2Info = d.info_volume({ volume_id: 'c2' });
    await waitMaster(env.client(0), c2Info.namespace, c2Info.owner_tag);
    const tail = pattern(4 * KiB, 6);
    await c2.write(3 * MiB, tail);
    await d.schedule_backend_sync({ volume_id: 'c2' });
    await c2.queue.idle();

    const m = await dumpMds(env.client(0), c2Info.namespace);
    t.deepEqual(cloneIds(m.pages), [0, 1, 2], 'own (0), c1 (1) and v (2)');
    t.deepEqual(m, await replayOf(env.h.backend, c2Info.namespace));
    await env.client(1).create_namespace(c2Info.namespace);
    const chain = await volumeChain(env.h.backend, { ns: c2Info.namespace, doc: await downloadSnapshots(env.h.backend, c2Info.namespace) });
    const inChain = chain.reduce((n, l) => n + l.tlogs.length, 0);
    t.true(chain.length === 3 && chain.every((l) => l.tlogs.length > 0));
    t.like(await env.client(1).catch_up(c2Info.namespace, false), { tlogs: inChain, full: false });
    t.deepEqual(await dumpMds(env.client(1), c2Info.namespace), m, 'a fresh slave of the clone == its master');

    const image = Buffer.from(shadow.data);
    own.copy(image, 2 * MiB);
    tail.copy(image, 3 * MiB);
    t.true((await c2.read(0, 4 * MiB)).equals(image), "data read back equal");
    t.not(ns, c2Info.namespace);
  } finally {
    await env.close();
  }
});

test('owner tags: the master refuses another tag and a SLAVE refuses updates; a restarted volume takes the master with its new tag', async (t) => {
  const env = await mdsEnv(2);
  try {
    const { ns, ownerTag, shadow } = await volumeOn(env);
    const v = env.h.driver.running('v')!;
    await round(env, v, shadow, 1);
    const page = new Map([[0, pattern(PAGE_BYTES, 3)]]);
    const meta = { corkId: null, scrubId: null };
    const before = await dumpMds(env.client(0), ns);
    await t.throwsAsync(env.client(0).multiset(ns, ownerTag + 1, page, meta), { instanceOf: Error, message: /owner tag/ });
    const wrongTag = await env.client(0).multiset(ns, ownerTag + 1, page, meta).catch((e: { type?: string }) => e.type);
    t.is(wrongTag, 'MDS_OWNER_TAG_MISMATCH');
    const onSlave = await env.client(1).multiset(ns, ownerTag, page, meta).catch((e: { type?: string }) => e.type);
    t.is(onSlave, 'MDS_NO_UPDATES_ON_SLAVE');
    t.deepEqual(await dumpMds(env.client(0), ns), before, 'a refused update changes nothing');

    const d = await env.h.restart();
    const info = d.info_volume({ volume_id: 'v' });
    t.true(info.owner_tag > ownerTag, 'a restart is a new owner tag');
    await waitMaster(env.client(0), ns, info.owner_tag);
    const stale = await env.client(0).multiset(ns, ownerTag, page, meta).catch((e: { type?: string }) => e.type);
    t.is(stale, 'MDS_OWNER_TAG_MISMATCH', 'the previous owner is fenced out');
    const v2 = d.running('v')!;
    await round(env, v2, shadow, 2);
    t.deepEqual(await dumpMds(env.client(0), ns), await replayOf(env.h.backend, ns));
    t.true((await v2.read(0, 4 * MiB)).equals(shadow.data), "data read back equal");
  } finally {
    await env.close();
  }
});

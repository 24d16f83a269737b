import test from 'ava';
import { fsck } from '../../src/dataplane/backend/fsck.js';
import { InvalidOperationError, ScrubBusyError } from '../../src/dataplane/errors.js';
import { loadResult } from '../../src/dataplane/scrub/apply.js';
import { garbageOf } from '../../src/dataplane/scrub/types.js';
import { SNAPSHOTS_OBJECT } from '../../src/dataplane/snapshots/types.js';
import { pattern, Shadow } from '../helpers/volume-harness.js';
import { KiB, backendBytes, overwriteRounds, overwrittenVolume, twoNodes } from './scrub-helpers.js';

const MiB = 1024 * KiB;

test('I12: scrubbing every unit after deleting snapshots keeps the volume and its clones (depth 1 and 2) intact and frees space only after the grace delay', async (t) => {
  const env = await twoNodes();
  const { backend, clock } = env;
  const size = 4 * MiB;
  const created = await overwrittenVolume(env, 5);
  const { id, shadow, images } = created;
  let v = created.v;

  // c1 (depth 1, on node2) from the older kept snapshot s2; c2 (depth 2 below v, on node1) from a snapshot of c1.
  await env.n2.create_clone({ target_path: '/c1.raw', parent_volume_id: id, parent_snapshot_id: 's2', volume_id: 'c1' });
  const c1 = env.n2.running('c1')!;
  const c1Image = Buffer.from(images.get('s2')!);
  const own = pattern(64 * KiB, 999);
  await c1.write(MiB, own);
  own.copy(c1Image, MiB);
  await env.n2.create_snapshot({ volume_id: 'c1', snapshot_id: 'cs1' });
  await c1.queue.idle();
  await env.n1.create_clone({ target_path: '/c2.raw', parent_volume_id: 'c1', parent_snapshot_id: 'cs1', volume_id: 'c2' });

  // Tail writes after the last snapshot stay in `current`, which is never scrubbed.
  const tail = pattern(32 * KiB, 4242);
  await v.write(0, tail);
  shadow.write(0, tail);
  await env.n1.schedule_backend_sync({ volume_id: id });
  await v.queue.idle();

  await env.n1.delete_snapshots({ volume_id: id, snapshots: ['s1', 's3', 's4'] });
  await v.queue.idle();
  t.deepEqual(env.n1.list_snapshots({ volume_id: id }), ['s2', 's5']);
  const scrubIdBefore = v.doc.scrubId;
  const before = await backendBytes(backend, id);

  const work = env.n1.get_scrubbing_workunits({ volume_id: id });
  t.deepEqual(work.map((w) => w.snapshot), ['s2', 's5']);
  t.deepEqual(JSON.parse(JSON.stringify(work)), work, 'work units are plain JSON');
  const garbage = new Map<string, string[]>();
  const empty: string[] = [];
  let relocations = 0;
  for (const w of work) {
    // Any driver of the vPool may scrub: node2 does.
    const reply = await env.n2.scrub({ work: w });
    t.deepEqual(JSON.parse(JSON.stringify(reply)), reply, 'the reply is plain JSON');
    t.true(reply.relocations > 0 && reply.deadScos > 0, `${w.snapshot} had garbage to reclaim`);
    const result = await loadResult(backend, id, reply.resultName);
    empty.push(...(result.emptyScos ?? []));
    garbage.set(w.snapshot, garbageOf(result, reply.resultName).filter((n) => !(result.emptyScos ?? []).includes(n)));
    const applied = await env.n1.apply_scrubbing_result({ volume_id: id, result_name: reply.resultName });
    t.true(applied.applied);
    relocations += applied.relocations;
  }
  t.true(relocations > 0);
  t.true(v.doc.snapshots.every((s) => s.scrubbed), 'scrubbed flags set');
  t.not(v.doc.scrubId, scrubIdBefore, 'scrubId changed');
  t.is(v.meta.table.meta.scrubId, v.doc.scrubId, "the table carries the volume's scrubId");
  t.deepEqual(env.n1.get_scrubbing_workunits({ volume_id: id }), []);
  t.true((await v.read(0, size)).equals(shadow.data), 'volume content unchanged after apply');

  const exist = async (names: string[]): Promise<boolean[]> => Promise.all(names.map((n) => backend.exists(id, n)));
  // SCOs without a live cluster go with the apply: nothing, not even a clone, reads them.
  t.true(empty.length > 0 && (await exist(empty)).every((x) => !x), 'empty SCOs deleted at apply');
  t.true((await c1.read(0, size)).equals(c1Image), 'clone depth 1 reads the same once the empty SCOs are gone');
  // s5 has no clones: its garbage waits for the grace delay only. s2's waits for c1 and c2 as well.
  await env.n1.scrubs.tick();
  t.true((await exist([...garbage.get('s2')!, ...garbage.get('s5')!])).every(Boolean), 'nothing deleted within the grace delay');
  clock.ms += 3_600_000;
  await env.n1.scrubs.tick();
  t.true((await exist(garbage.get('s5')!)).every((x) => !x), 's5 garbage deleted after the grace delay');
  const jobs = await env.n1.scrubs.pendingJobs();
  t.true(jobs.some((j) => j.clones.c1?.done === false), "c1 (owned by node2) still pending after node1's round");
  t.true((await exist(garbage.get('s2')!)).every(Boolean), 's2 garbage kept while a clone has not applied');
  await env.n2.scrubs.tick();
  t.true((await env.n1.scrubs.pendingJobs()).every((j) => Object.values(j.clones).every((c) => c.done)), 'every clone applied');
  // All applied just now: the grace delay starts.
  await env.n1.scrubs.tick();
  t.true((await exist(garbage.get('s2')!)).every(Boolean), 's2 garbage kept during the grace delay');
  clock.ms += 10_001;
  await env.n1.scrubs.tick();
  t.true((await exist(garbage.get('s2')!)).every((x) => !x), 's2 garbage deleted after the grace delay');
  t.deepEqual(await env.n1.scrubs.pendingJobs(), []);
  const after = await backendBytes(backend, id);
  t.true(after < before, `backend bytes decreased (${before} → ${after})`);

  t.true((await v.read(0, size)).equals(shadow.data), 'volume content unchanged after GC');
  t.true((await c1.read(0, size)).equals(c1Image), 'clone depth 1 unchanged after GC');
  t.true((await env.n1.running('c2')!.read(0, size)).equals(c1Image), 'clone depth 2 unchanged after GC');
  for (const ns of [id, 'c1', 'c2']) t.deepEqual((await fsck(backend, ns)).problems, [], `fsck ${ns}`);
  const state = await env.n1.scrub_state({ volume_id: id });
  t.is(state.work_pending, 0);
  t.false(state.running);
  t.truthy(state.last_scrub);

  // Restarts: local (table from disk) and from the backend (replay of the scrubbed TLogs).
  await env.restart1();
  v = env.n1.running(id)!;
  t.true((await v.read(0, size)).equals(shadow.data), 'same bytes after a local restart');
  t.true((await env.n1.running('c2')!.read(0, size)).equals(c1Image), 'c2 same bytes after a local restart');
  await env.n1.restart_from_backend({ object_id: id });
  await env.n1.restart_from_backend({ object_id: 'c2' });
  await env.n2.restart_from_backend({ object_id: 'c1' });
  t.true((await env.n1.running(id)!.read(0, size)).equals(shadow.data), 'same bytes after a backend restart');
  t.true((await env.n2.running('c1')!.read(0, size)).equals(c1Image), 'c1 same bytes after a backend restart');
  t.true((await env.n1.running('c2')!.read(0, size)).equals(c1Image), 'c2 same bytes after a backend restart');
  await env.close();
});

test('work handed out right after a snapshot deletion, before the snapshots file reached the backend, is scrubbed as the owner sees it and applies', async (t) => {
  const env = await twoNodes();
  const size = 4 * MiB;
  const { id, v, shadow } = await overwrittenVolume(env, 3);
  // The deletion's snapshots file goes to the backend after the deletion returned, behind the volume's queue: here it
  // is made to lag for sure by putting the file from before the deletion back.
  const before = await env.backend.get(id, SNAPSHOTS_OBJECT);
  await env.n1.delete_snapshot({ volume_id: id, snapshot_id: 's2' }); // s2's TLogs join s3
  await v.queue.idle();
  await env.backend.put(id, SNAPSHOTS_OBJECT, before, { overwrite: true });
  const [w] = env.n1.get_scrubbing_workunits({ volume_id: id }).filter((x) => x.snapshot === 's3');
  const reply = await env.n2.scrub({ work: w! });
  t.true(reply.relocations > 0, 'the merged interval of s2 and s3 has garbage');
  const out = await env.n1.apply_scrubbing_result({ volume_id: id, result_name: reply.resultName });
  t.true(out.applied, out.reason);
  t.true((await v.read(0, size)).equals(shadow.data));
  await v.queue.idle();
  t.deepEqual((await fsck(env.backend, id)).problems, []);
  await env.close();
});

test('a snapshot deleted between scrub and apply: apply aborts, the new objects go, the data stays', async (t) => {
  const env = await twoNodes();
  const size = 4 * MiB;
  const { id, v, shadow } = await overwrittenVolume(env, 3);
  await env.n1.delete_snapshot({ volume_id: id, snapshot_id: 's1' });
  await v.queue.idle();
  const [w] = env.n1.get_scrubbing_workunits({ volume_id: id }).filter((x) => x.snapshot === 's2');
  const reply = await env.n1.scrub({ work: w! });
  const result = await loadResult(env.backend, id, reply.resultName);
  t.true(result.newScos.length > 0);
  const listBefore = new Set(await env.backend.list(id));

  await env.n1.delete_snapshot({ volume_id: id, snapshot_id: 's2' }); // s2's TLogs join s3
  await v.queue.idle();
  const out = await env.n1.apply_scrubbing_result({ volume_id: id, result_name: reply.resultName });
  t.false(out.applied);
  t.regex(out.reason ?? '', /gone|changed/);
  const listAfter = new Set(await env.backend.list(id));
  for (const name of [...result.newScos, ...result.relocLogs, ...result.tlogsOut.map((x) => x.id), reply.resultName]) {
    t.true(listBefore.has(name));
    t.false(listAfter.has(name), `${name} deleted by the aborted apply`);
  }
  t.true((await v.read(0, size)).equals(shadow.data));
  t.deepEqual((await fsck(env.backend, id)).problems, []);
  t.deepEqual(await env.n1.scrubs.pendingJobs(), []);
  await env.close();
});

test('templates are refused; delete_snapshot under a held scrub lease waits, then fails with a retryable SCRUB_BUSY', async (t) => {
  const env = await twoNodes();
  const id = await env.n1.create_volume({ target_path: '/v.raw', volume_size: 4 * MiB, volume_id: 'v' });
  const v = env.n1.running(id)!;
  await overwriteRounds(env.n1, v, new Shadow(4 * MiB), 2);

  let holderSawBusy = false;
  await env.n2.scrubs.leases.with(id, async () => {
    const e = await t.throwsAsync(env.n1.delete_snapshot({ volume_id: id, snapshot_id: 's1' }), { instanceOf: ScrubBusyError });
    holderSawBusy = e?.retryable === true;
    t.true((await env.n1.scrub_state({ volume_id: id })).running);
  });
  t.true(holderSawBusy, 'SCRUB_BUSY is retryable');
  t.deepEqual(env.n1.list_snapshots({ volume_id: id }), ['s1', 's2'], 'nothing deleted under the lease');
  await env.n1.delete_snapshot({ volume_id: id, snapshot_id: 's1' });
  t.deepEqual(env.n1.list_snapshots({ volume_id: id }), ['s2'], 'deleted once the lease is free');

  await env.n1.set_volume_as_template({ volume_id: id });
  t.throws(() => env.n1.get_scrubbing_workunits({ volume_id: id }), { instanceOf: InvalidOperationError });
  await env.close();
});

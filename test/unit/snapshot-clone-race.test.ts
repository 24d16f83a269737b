import test from 'ava';
import { InvalidOperationError, ObjectStillHasChildrenError } from '../../src/dataplane/errors.js';
import { SNAPSHOTS_OBJECT, type SnapshotsFile } from '../../src/dataplane/snapshots/types.js';
import { overwrittenVolume, twoNodes } from './scrub-helpers.js';

const MiB = 1024 * 1024;

const backendDoc = async (env: Awaited<ReturnType<typeof twoNodes>>, ns: string): Promise<SnapshotsFile> =>
  JSON.parse((await env.backend.get(ns, SNAPSHOTS_OBJECT)).toString('utf8')) as SnapshotsFile;

test('a clone made on another node while a deletion of its snapshot waits for the backend: the deletion is refused, snapshot and clone stay', async (t) => {
  const env = await twoNodes();
  const { id, v, images } = await overwrittenVolume(env, 2);
  // The owner's uploads wait: the deletion's mark has not reached the backend when the clone is made.
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  void v.queue.push('held by the test', () => held, { barrier: true });
  const deletion = env.n1.delete_snapshot({ volume_id: id, snapshot_id: 's1' });
  deletion.catch(() => undefined);
  await env.n2.create_clone({ target_path: '/c.raw', parent_volume_id: id, parent_snapshot_id: 's1', volume_id: 'c' });
  release();
  await t.throwsAsync(deletion, { instanceOf: ObjectStillHasChildrenError });
  t.deepEqual(env.n1.list_snapshots({ volume_id: id }), ['s1', 's2']);
  await v.queue.idle();
  t.false((await backendDoc(env, id)).snapshots.some((s) => s.deleting), 'the mark is gone from the backend too');
  t.true((await env.n2.running('c')!.read(0, 4 * MiB)).equals(images.get('s1')!), 'the clone reads its snapshot');
  await env.close();
});

test('a snapshot marked as being deleted cannot be cloned, and no registration stays; a restart clears a mark left by a crash', async (t) => {
  const env = await twoNodes();
  const { id, v, images } = await overwrittenVolume(env, 2);
  // What a crash between the mark and the removal leaves.
  v.doc.snapshots.find((s) => s.name === 's1')!.deleting = true;
  await v.queueSnapshotsUpload();
  await t.throwsAsync(env.n2.create_clone({ target_path: '/c.raw', parent_volume_id: id, parent_snapshot_id: 's1', volume_id: 'c' }), {
    instanceOf: InvalidOperationError, message: /being deleted/,
  });
  t.false(env.n2.list_volumes().includes('c'), 'the refused clone is not registered');
  const restarted = (await env.restart1()).running(id)!;
  await restarted.queue.idle();
  t.false((await backendDoc(env, id)).snapshots.some((s) => s.deleting));
  await env.n2.create_clone({ target_path: '/c.raw', parent_volume_id: id, parent_snapshot_id: 's1', volume_id: 'c' });
  t.true((await env.n2.running('c')!.read(0, 4 * MiB)).equals(images.get('s1')!));
  await env.close();
});

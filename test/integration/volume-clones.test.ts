import test from 'ava';
import { fsck } from '../../src/dataplane/backend/fsck.js';
import { harness, pattern, Shadow } from '../helpers/volume-harness.js';

const MiB = 1024 * 1024;

test('I8: clone reads through the parent chain, writes stay isolated, depth-2 clones work, dependencies are refused', async (t) => {
  const h = await harness();
  const size = 2 * MiB;
  const d = h.driver;
  const parent = await d.create_volume({ target_path: '/parent.raw', volume_size: size });
  const pv = d.running(parent)!;
  const ps = new Shadow(size);
  const a = pattern(MiB, 1);
  await pv.write(0, a);
  ps.write(0, a);
  await d.create_snapshot({ volume_id: parent, snapshot_id: 'p1' });
  await pv.queue.idle();
  const atP1 = ps.clone();
  const clone = await d.create_clone({ target_path: '/clone.raw', parent_volume_id: parent, parent_snapshot_id: 'p1' });
  const cv = d.running(clone)!;
  t.true((await cv.read(0, size)).equals(atP1.data), 'clone shows the parent snapshot');

  const pw = pattern(256 * 1024, 2);
  await pv.write(0, pw);
  ps.write(0, pw);
  const cs = atP1.clone();
  const cw = pattern(100 * 1024, 3);
  await cv.write(512 * 1024 + 5, cw);
  cs.write(512 * 1024 + 5, cw);
  t.true((await cv.read(0, size)).equals(cs.data), 'clone sees its own writes, not the parent later ones');
  t.true((await pv.read(0, size)).equals(ps.data), 'parent does not see the clone writes');

  await d.create_snapshot({ volume_id: clone, snapshot_id: 'c1' });
  await cv.queue.idle();
  const grandchild = await d.create_clone({ target_path: '/gc.raw', parent_volume_id: clone, parent_snapshot_id: 'c1' });
  t.true((await d.running(grandchild)!.read(0, size)).equals(cs.data), 'depth-2 clone');

  await t.throwsAsync(d.delete_snapshot({ volume_id: parent, snapshot_id: 'p1' }), { message: /has clones/ });
  await t.throwsAsync(d.unlink({ target_path: '/parent.raw' }), { message: /has clones/ });
  await d.create_snapshot({ volume_id: parent, snapshot_id: 'p2' });
  await pv.queue.idle();
  await t.notThrowsAsync(d.rollback_volume({ volume_id: parent, snapshot_id: 'p2' }), 'rollback to a snapshot after the cloned one is fine');
  await d.rollback_volume({ volume_id: parent, snapshot_id: 'p1' });
  t.true((await pv.read(0, size)).equals(atP1.data), 'p2 had no clones, so rolling back past it to p1 is allowed');
  t.true((await cv.read(0, size)).equals(cs.data), 'the clone is untouched by its parent rollback');
  // A clone hanging off a later snapshot blocks rolling back past it.
  await pv.write(0, pattern(4096, 11));
  await d.create_snapshot({ volume_id: parent, snapshot_id: 'p3' });
  await pv.queue.idle();
  await d.create_clone({ target_path: '/clone3.raw', parent_volume_id: parent, parent_snapshot_id: 'p3' });
  await t.throwsAsync(d.rollback_volume({ volume_id: parent, snapshot_id: 'p1' }), { message: /has clones/ });
  await pv.queue.idle();
  for (const ns of [parent, clone, grandchild]) t.deepEqual((await fsck(h.backend, ns)).problems, [], ns);
  await h.close();
});

test('I9: a template is read-only and clones of it equal its image', async (t) => {
  const h = await harness();
  const d = h.driver;
  const size = MiB;
  const id = await d.create_volume({ target_path: '/tpl.raw', volume_size: size });
  const v = d.running(id)!;
  const img = pattern(size, 7);
  await v.write(0, img);
  await d.set_volume_as_template({ volume_id: id });
  t.is(d.info_volume({ volume_id: id }).object_type, 'TEMPLATE');
  await t.throwsAsync(v.write(0, Buffer.alloc(4096)), { message: /template/ });
  await t.throwsAsync(d.create_snapshot({ volume_id: id, snapshot_id: 'x' }), { message: /template/ });
  t.is(d.list_snapshots({ volume_id: id }).length, 1);
  t.true(d.lookup(id)!.readOnly);
  const c = await d.create_clone_from_template({ target_path: '/fromtpl.raw', parent_volume_id: id });
  t.true((await d.running(c)!.read(0, size)).equals(img));
  await t.throwsAsync(d.create_clone_from_template({ target_path: '/bad.raw', parent_volume_id: c }), { message: /not a template/ });
  await h.close();
});

test('I10 + I21: grow keeps data and reads zeros beyond, shrink refused; create/resize/delete events; delete removes the namespace', async (t) => {
  const h = await harness();
  const d = h.driver;
  const id = await d.create_volume({ target_path: '/r.raw', volume_size: MiB });
  const v = d.running(id)!;
  const b = pattern(MiB, 5);
  await v.write(0, b);
  await d.truncate({ object_id: id, new_size: `${4 * MiB}B` });
  t.is(d.info_volume({ volume_id: id }).volume_size, 4 * MiB);
  t.true((await v.read(0, MiB)).equals(b));
  t.true((await v.read(MiB, 3 * MiB)).equals(Buffer.alloc(3 * MiB)));
  await t.throwsAsync(d.truncate({ object_id: id, new_size: MiB }), { message: /cannot shrink/ });
  await t.throwsAsync(d.truncate({ object_id: id, new_size: 4 * MiB + 1 }), { message: /multiple of the cluster size/ });
  await d.unlink({ target_path: '/r.raw' });
  t.false(await h.backend.namespaceExists(id));
  const types = h.events.map((e) => e.type);
  t.deepEqual(types, ['up_and_running', 'volume_create', 'volume_resize', 'volume_delete']);
  t.like(h.events[1], { type: 'volume_create', name: '/r.raw', size: MiB, cluster_id: 'pool', node_id: 'node1' });
  t.like(h.events[2], { type: 'volume_resize', size: 4 * MiB });
  await h.close();
});

test('per-volume knobs: SCO and TLog multipliers change the geometry of new data only; delete_snapshots reports per snapshot', async (t) => {
  const h = await harness();
  const d = h.driver;
  const id = await d.create_volume({ target_path: '/k.raw', volume_size: 2 * MiB });
  const v = d.running(id)!;
  const a = pattern(300 * 1024, 1);
  await v.write(0, a);
  await d.set_sco_multiplier({ volume_id: id, sco_multiplier: 32 });
  await d.set_tlog_multiplier({ volume_id: id, tlog_multiplier: 2 });
  t.is(d.get_sco_multiplier({ volume_id: id }), 32);
  t.is(d.get_tlog_multiplier({ volume_id: id }), 2);
  await t.throwsAsync(d.set_sco_multiplier({ volume_id: id, sco_multiplier: 0 }));
  const b = pattern(600 * 1024, 2);
  await v.write(MiB, b);
  await d.create_snapshot({ volume_id: id, snapshot_id: 's1' });
  await v.queue.idle();
  await d.create_snapshot({ volume_id: id, snapshot_id: 's2' });
  await v.queue.idle();
  const c = await d.create_clone({ target_path: '/kc.raw', parent_volume_id: id, parent_snapshot_id: 's2' });
  t.deepEqual(await d.delete_snapshots({ volume_id: id, snapshots: ['s1', 's2', 'nope'], skip_used_snapshots: true, ignore_unknown_snapshots: true }), { removed: ['s1'], unknown: ['nope'], busy: ['s2'] });
  t.true((await v.read(0, a.length)).equals(a));
  t.true((await v.read(MiB, b.length)).equals(b));
  t.true((await d.running(c)!.read(MiB, b.length)).equals(b));
  await d.restart_from_backend({ object_id: id });
  t.true((await d.running(id)!.read(MiB, b.length)).equals(b), 'mixed SCO sizes replay from the backend');
  t.deepEqual((await fsck(h.backend, id)).problems, []);
  await h.close();
});

import test from 'ava';
import { fsck } from '../../src/dataplane/backend/fsck.js';
import { harness, pattern, Shadow } from '../helpers/volume-harness.js';

const MiB = 1024 * 1024;

test('I4: failing backend puts are retried in order; the backend stays consistent and complete', async (t) => {
  let puts = 0;
  let armed = false;
  // Once the volume exists, every third put fails once (SCOs, TLogs and the snapshots file alike).
  const failed = new Set<string>();
  const h = await harness(undefined, undefined, (ns, name) => {
    if (!armed) return false;
    puts++;
    if (puts % 3 !== 0 || failed.has(`${ns}/${name}`)) return false;
    failed.add(`${ns}/${name}`);
    return true;
  });
  const size = 4 * MiB;
  const id = await h.driver.create_volume({ target_path: '/f.raw', volume_size: size });
  const v = h.driver.running(id)!;
  armed = true;
  const shadow = new Shadow(size);
  for (let i = 0; i < 12; i++) {
    const b = pattern(200 * 1024, i + 1);
    const off = (i * 300 * 1024) % (size - b.length);
    await v.write(off, b);
    shadow.write(off, b);
    if (i === 5) await h.driver.create_snapshot({ volume_id: id, snapshot_id: 'mid' });
  }
  const tlog = await h.driver.schedule_backend_sync({ volume_id: id });
  await v.queue.idle();
  t.true(failed.size > 0, 'faults were injected');
  t.false(v.halted, 'transient failures do not halt the volume');
  t.true(h.driver.is_volume_synced_up_to_tlog({ volume_id: id, tlog_name: tlog }));
  t.deepEqual((await fsck(h.backend, id)).problems, []);
  armed = false;
  await h.driver.restart_from_backend({ object_id: id });
  t.true((await h.driver.running(id)!.read(0, size)).equals(shadow.data), 'the backend alone gives back every byte');
  await h.close();
});

test('I4: a backend that keeps failing halts the volume instead of reordering uploads; I/O then fails clearly', async (t) => {
  let broken = false;
  const h = await harness(undefined, undefined, () => broken);
  const id = await h.driver.create_volume({ target_path: '/g.raw', volume_size: MiB });
  const v = h.driver.running(id)!;
  broken = true;
  await v.write(0, pattern(512 * 1024, 1));
  await h.driver.schedule_backend_sync({ volume_id: id }).catch(() => undefined);
  await v.queue.idle();
  t.true(v.halted);
  await t.throwsAsync(v.write(0, Buffer.alloc(4096)), { message: /halted/ });
  t.is(h.events.filter((e) => e.type === 'volumedriver_error').length, 1);
  broken = false;
  // Nothing half-written is listed as written in the backend.
  t.deepEqual((await fsck(h.backend, id)).problems, []);
  await h.close();
});

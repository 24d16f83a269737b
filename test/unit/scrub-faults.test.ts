import test from 'ava';
import { fsck } from '../../src/dataplane/backend/fsck.js';
import { InjectedFault, faults } from '../../src/testmode/faults.js';
import { KiB, overwrittenVolume, twoNodes } from './scrub-helpers.js';

const MiB = 1024 * KiB;

test('each scrub step fails once under an injected fault, leaves the volume and the backend consistent, and a retry completes', async (t) => {
  faults.enabled = true;
  const env = await twoNodes();
  const size = 4 * MiB;
  const { id, v, shadow } = await overwrittenVolume(env, 3);
  await env.n1.delete_snapshot({ volume_id: id, snapshot_id: 's2' });
  await v.queue.idle();
  const [work] = env.n1.get_scrubbing_workunits({ volume_id: id }).filter((w) => w.snapshot === 's3');
  const consistent = async (what: string): Promise<void> => {
    t.true((await v.read(0, size)).equals(shadow.data), `data intact after ${what}`);
    t.deepEqual((await fsck(env.backend, id)).problems, [], `fsck after ${what}`);
  };
  const objects = async (): Promise<string[]> => (await env.backend.list(id)).sort();
  const initial = await objects();

  faults.arm({ point: 'scrub.step', match: `scrub:${id}`, times: 1 });
  await t.throwsAsync(env.n2.scrub({ work: work! }), { instanceOf: InjectedFault });
  await consistent('a failed scrub');
  t.deepEqual(await objects(), initial, 'a failed scrub leaves no objects behind');
  t.false((await env.n1.scrub_state({ volume_id: id })).running, 'the lease was released');
  const reply = await env.n2.scrub({ work: work! });

  faults.arm({ point: 'scrub.step', match: `apply:${id}`, times: 1 });
  await t.throwsAsync(env.n1.apply_scrubbing_result({ volume_id: id, result_name: reply.resultName }), { instanceOf: InjectedFault });
  await consistent('a failed apply');
  t.false(v.doc.snapshots.find((s) => s.name === 's3')!.scrubbed);
  const applied = await env.n1.apply_scrubbing_result({ volume_id: id, result_name: reply.resultName });
  t.true(applied.applied);
  await consistent('the retried apply');

  faults.arm({ point: 'scrub.step', match: `gc:${id}`, times: 1 });
  env.clock.ms += 3_600_000;
  await env.n1.scrubs.tick();
  t.is((await env.n1.scrubs.pendingJobs()).length, 1, 'the job stays after a failed GC');
  t.true(await env.backend.exists(id, reply.resultName));
  await consistent('a failed GC');
  await env.n1.scrubs.tick();
  t.deepEqual(await env.n1.scrubs.pendingJobs(), []);
  t.false(await env.backend.exists(id, reply.resultName), 'the retried GC deleted the garbage');
  await consistent('the retried GC');
  faults.clear();
  await env.close();
});

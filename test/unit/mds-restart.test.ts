import { join } from 'node:path';
import test from 'ava';
import { removeLocal } from '../../src/dataplane/volume/open.js';
import { dumpTable, mdsEnv, MiB, replayOf, round, type MdsEnv } from './mds-env.js';
import { Shadow } from '../helpers/volume-harness.js';

/** A node restart after its local data is gone: the volume can only come back from the backend. */
async function backendRestart(env: MdsEnv): Promise<void> {
  await env.h.driver.stop();
  await removeLocal(join(env.h.dir, 'data', 'pool'), 'v');
  const d = await env.h.restart();
  if (!d.running('v')) await d.restart_object({ object_id: 'v' });
}

test('a backend restart starts from an MDS table and replays only the TLogs it lacks; with no MDS answering it replays the whole chain', async (t) => {
  const env = await mdsEnv(2);
  try {
    await env.h.driver.create_volume({ target_path: '/v.raw', volume_size: 4 * MiB, volume_id: 'v' });
    await env.client(1).create_namespace('v');
    const shadow = new Shadow(4 * MiB);
    for (let i = 1; i <= 3; i++) await round(env, env.h.driver.running('v')!, shadow, i);
    await env.client(1).catch_up('v', false);
    for (let i = 4; i <= 5; i++) await round(env, env.h.driver.running('v')!, shadow, i);

    await backendRestart(env);
    const fromMaster = env.h.driver.metadata_source({ volume_id: 'v' });
    t.like(fromMaster, { from: 'mds', service: env.addrs[0], tlogs_replayed: 0, full_rebuild: false }, 'the master is current: nothing to replay');
    t.true((await env.h.driver.running('v')!.read(0, 4 * MiB)).equals(shadow.data));
    t.deepEqual(dumpTable(env.h.driver.running('v')!.table), await replayOf(env.h.backend, 'v'), 'the table equals the replay (I5)');

    // The master's node is gone: the slave, two TLogs behind, gives its table and the rest is replayed.
    await env.stopServer(0);
    await backendRestart(env);
    const fromSlave = env.h.driver.metadata_source({ volume_id: 'v' });
    t.is(fromSlave?.from, 'mds');
    t.like(fromSlave, { service: env.addrs[1], full_rebuild: false });
    t.true((fromSlave?.tlogs_replayed ?? 0) >= 2, `the slave lacked the last rounds (${JSON.stringify(fromSlave)})`);
    t.true((await env.h.driver.running('v')!.read(0, 4 * MiB)).equals(shadow.data));
    t.deepEqual(dumpTable(env.h.driver.running('v')!.table), await replayOf(env.h.backend, 'v'));

    await round(env, env.h.driver.running('v')!, shadow, 6);
    await env.stopServer(1);
    await backendRestart(env);
    const fromBackend = env.h.driver.metadata_source({ volume_id: 'v' });
    t.is(fromBackend?.from, 'backend');
    t.true((await env.h.driver.running('v')!.read(0, 4 * MiB)).equals(shadow.data));
  } finally {
    await env.close();
  }
});

import test from 'ava';
import { fsck } from '../../src/dataplane/backend/fsck.js';
import { faults } from '../../src/testmode/faults.js';
import { Shadow } from '../helpers/volume-harness.js';
import {
  configNodes, dumpMds, localMdsNodes, mdsEnv, mdsFailovers, MiB, replayOf, round, storedMdsNodes, waitMaster, type MdsEnv,
} from './mds-env.js';

// Faults are per process: the tests of this file run one at a time.
faults.enabled = true;
test.afterEach.always(() => faults.clear());

async function volumeOn(env: MdsEnv): Promise<{ ns: string; ownerTag: number; shadow: Shadow }> {
  await env.h.driver.create_volume({ target_path: '/v.raw', volume_size: 4 * MiB, volume_id: 'v' });
  const info = env.h.driver.info_volume({ volume_id: 'v' });
  await waitMaster(env.client(0), info.namespace, info.owner_tag);
  for (let i = 1; i < env.addrs.length; i++) await env.client(i).create_namespace(info.namespace);
  return { ns: info.namespace, ownerTag: info.owner_tag, shadow: new Shadow(4 * MiB) };
}

async function intact(t: { true(v: boolean, m?: string): void }, env: MdsEnv, ns: string, shadow: Shadow): Promise<void> {
  const v = env.h.driver.running('v')!;
  t.true(!v.halted, 'the volume is not halted');
  t.true((await v.read(0, 4 * MiB)).equals(shadow.data), 'data read back equal');
  t.true((await fsck(env.h.backend, ns)).ok, 'fsck');
}

for (const how of ['stalls (mds.unresponsive)', 'is stopped'] as const) {
  test.serial(`I13: the master ${how} mid-workload: I/O goes on, code 25, the list is rotated, the new master == replay`, async (t) => {
    const env = await mdsEnv(3);
    try {
      const { ns, ownerTag, shadow } = await volumeOn(env);
      const v = env.h.driver.running('v')!;
      const [a, b, c] = env.addrs as [string, string, string];
      await round(env, v, shadow, 1);
      await env.client(1).catch_up(ns, false);
      await env.client(2).catch_up(ns, false);
      // A table page only the owner's full copy brings to the new master: the later rounds write elsewhere.
      await round(env, v, shadow, 2, 2 * MiB);
      t.deepEqual(mdsFailovers(env.h), []);

      const workload = (async () => {
        for (let r = 3; r <= 5; r++) await round(env, v, shadow, r);
      })();
      await new Promise((r) => setImmediate(r));
      if (how === 'is stopped') await env.stopServer(0);
      else faults.arm({ point: 'mds.unresponsive', match: a });
      await workload;

      const failovers = mdsFailovers(env.h);
      t.is(failovers.length, 1, 'one failover');
      t.like(failovers[0], { code: 25, code_name: 'MDSFailover', volume_name: 'v', info: b });
      t.is(configNodes(env.h, 'v')[0], b, 'the new master comes first');
      t.deepEqual([...configNodes(env.h, 'v')].sort(), [a, b, c].sort());
      t.deepEqual(await storedMdsNodes(env.h.backend, ns), configNodes(env.h, 'v'), 'the rotated list is stored in the backend');
      t.deepEqual(await localMdsNodes(env.h, ns), configNodes(env.h, 'v'), 'and locally');
      t.deepEqual(await env.client(1).get_role(ns), { role: 'MASTER', owner_tag: ownerTag });
      t.deepEqual(await dumpMds(env.client(1), ns), await replayOf(env.h.backend, ns), 'new master == replay');
      await intact(t, env, ns, shadow);
    } finally {
      await env.close();
    }
  });
}

test.serial('I13: a candidate more than max_tlogs_behind behind is passed over while a closer one answers', async (t) => {
  const env = await mdsEnv(3, { maxTlogsBehind: 1 });
  try {
    const { ns, shadow } = await volumeOn(env);
    const v = env.h.driver.running('v')!;
    for (let r = 1; r <= 3; r++) await round(env, v, shadow, r);
    // b never caught up (3 behind), c did (0 behind).
    await env.client(2).catch_up(ns, false);
    faults.arm({ point: 'mds.unresponsive', match: env.addrs[0]! });
    await round(env, v, shadow, 4);
    t.like(mdsFailovers(env.h)[0], { info: env.addrs[2] });
    t.is(configNodes(env.h, 'v')[0], env.addrs[2]);
    t.deepEqual(await dumpMds(env.client(2), ns), await replayOf(env.h.backend, ns));
    t.is((await env.client(1).get_role(ns)).role, 'SLAVE');
    await intact(t, env, ns, shadow);
  } finally {
    await env.close();
  }
});

test.serial('I13: with every MDS service down the volume keeps serving and reports it (no halt: a deliberate deviation); the master comes back at the next barrier', async (t) => {
  const env = await mdsEnv(3);
  try {
    const { ns, shadow } = await volumeOn(env);
    const v = env.h.driver.running('v')!;
    await round(env, v, shadow, 1);
    const before = configNodes(env.h, 'v');
    faults.arm({ point: 'mds.unresponsive', match: env.addrs[0]!.slice(0, env.addrs[0]!.lastIndexOf('.') + 1) });
    await round(env, v, shadow, 2);
    await round(env, v, shadow, 3);

    const failovers = mdsFailovers(env.h);
    t.true(failovers.length >= 1, 'reported');
    t.true(failovers.every((e) => e.code === 25 && e.info === null));
    t.false(v.halted, 'the original halts here; this volume holds its whole table and keeps serving');
    t.deepEqual(configNodes(env.h, 'v'), before, 'no service took over: the list stays');
    await intact(t, env, ns, shadow);

    faults.clear();
    await round(env, v, shadow, 4);
    t.deepEqual(await dumpMds(env.client(0), ns), await replayOf(env.h.backend, ns), 'the first service is master again, with the whole table');
    t.deepEqual(configNodes(env.h, 'v'), before);
  } finally {
    await env.close();
  }
});

test.serial('I13: update_metadata_backend_config with a new first node switches the master with no loss', async (t) => {
  const env = await mdsEnv(3);
  try {
    const { ns, ownerTag, shadow } = await volumeOn(env);
    const v = env.h.driver.running('v')!;
    const [a, b, c] = env.addrs as [string, string, string];
    await round(env, v, shadow, 1);
    await round(env, v, shadow, 2);
    const asNodes = (xs: string[]): Array<{ address: string; port: number }> => xs.map((x) => ({ address: x.split(':')[0]!, port: Number(x.split(':')[1]) }));

    await env.h.driver.update_metadata_backend_config({ volume_id: 'v', metadata_backend_config: asNodes([b, a, c]) });
    t.deepEqual(configNodes(env.h, 'v'), [b, a, c]);
    t.deepEqual(await storedMdsNodes(env.h.backend, ns), [b, a, c]);
    t.deepEqual(await env.client(1).get_role(ns), { role: 'MASTER', owner_tag: ownerTag });
    t.deepEqual(await dumpMds(env.client(1), ns), await replayOf(env.h.backend, ns), 'the new master has the whole table');
    const oldMaster = await dumpMds(env.client(0), ns);

    await round(env, v, shadow, 3);
    t.deepEqual(await dumpMds(env.client(1), ns), await replayOf(env.h.backend, ns), 'later barriers go to the new master');
    t.deepEqual(await dumpMds(env.client(0), ns), oldMaster, 'and no longer to the old one');
    t.deepEqual(mdsFailovers(env.h), [], 'a switch is no failover');
    await intact(t, env, ns, shadow);
  } finally {
    await env.close();
  }
});

test.serial('I13: when the new master cannot take over, update_metadata_backend_config fails and the old configuration stays whole', async (t) => {
  const env = await mdsEnv(3);
  try {
    const { ns, shadow } = await volumeOn(env);
    const v = env.h.driver.running('v')!;
    const [a, b, c] = env.addrs as [string, string, string];
    await round(env, v, shadow, 1);
    const asNodes = (xs: string[]): Array<{ address: string; port: number }> => xs.map((x) => ({ address: x.split(':')[0]!, port: Number(x.split(':')[1]) }));

    faults.arm({ point: 'mds.unresponsive', match: b });
    const err = await env.h.driver.update_metadata_backend_config({ volume_id: 'v', metadata_backend_config: asNodes([b, c]) }).then(() => undefined, (e: { type?: string }) => e);
    t.is(err?.type, 'MDS_UNAVAILABLE');
    t.deepEqual(configNodes(env.h, 'v'), [a, b, c]);
    t.deepEqual(await storedMdsNodes(env.h.backend, ns), [a, b, c]);
    t.deepEqual(await localMdsNodes(env.h, ns), [a, b, c]);

    faults.clear();
    await round(env, v, shadow, 2);
    t.deepEqual(await dumpMds(env.client(0), ns), await replayOf(env.h.backend, ns), 'the old master still takes the barriers');
    t.deepEqual(mdsFailovers(env.h), []);
    await intact(t, env, ns, shadow);
  } finally {
    await env.close();
  }
});

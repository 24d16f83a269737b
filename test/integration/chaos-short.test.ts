import test from 'ava';
import { figuresLine, runChaos } from '../../bench/chaos/suite.js';

// Serial: each run takes three loopback addresses and a vPool of its own, but both are heavy for CI's two CPUs.

/** Two rounds of the chaos suite with a fixed seed: kill -9 of a vDisk owner, then fuzz; every figure that must be zero is. */
test.serial('chaos, short: kill -9 of an owner and fuzz under fio --verify; no lost write, verify error, lost or duplicated task, untyped reply or crash', async (t) => {
  t.timeout(240_000);
  const f = await runChaos({ rounds: 2, seed: 15, schedule: ['kill_owner', 'fuzz'], ips: ['127.0.0.191', '127.0.0.192', '127.0.0.193'], vpoolName: 'chaoss', log: (m) => t.log(m) });
  t.log(figuresLine(f));
  t.is(f.rounds, 2);
  t.deepEqual(f.faults, ['kill_owner', 'fuzz']);
  t.is(f.ackedWritesLost, 0);
  t.is(f.fioVerifyErrors, 0);
  t.true(f.fioPhases > 0, 'the load ran');
  t.is(f.tasksLost, 0);
  t.is(f.tasksDuplicated, 0);
  t.true(f.fuzz.sent > 0);
  t.is(f.fuzz.typed, f.fuzz.sent, f.fuzz.untyped.join(', '));
  t.is(f.agentCrashes, 0);
});

/** The same on a three-server NATS cluster: kill -9 of one server, then the loss of quorum; both recovered by themselves. */
test.serial('chaos, short, NATS cluster: one server killed, then quorum lost; writes go on, then typed retryable refusals and not ready, then recovery without restarts', async (t) => {
  t.timeout(300_000);
  const f = await runChaos({ rounds: 2, seed: 15, natsCluster: true, schedule: ['lose_nats_server', 'lose_quorum'], ips: ['127.0.0.201', '127.0.0.202', '127.0.0.203'], vpoolName: 'chaosq', log: (m) => t.log(m) });
  t.log(figuresLine(f));
  t.is(f.rounds, 2);
  t.deepEqual(f.faults, ['lose_nats_server', 'lose_quorum']);
  t.is(f.natsFaultFailures, 0, 'see NATS FAULT CHECK FAILED in the log');
  t.is(f.ackedWritesLost, 0);
  t.is(f.fioVerifyErrors, 0);
  t.true(f.fioPhases > 0, 'the load ran');
  t.is(f.tasksLost, 0);
  t.is(f.tasksDuplicated, 0);
  t.is(f.agentCrashes, 0);
});

import test from 'ava';
import type { NatsConnection } from 'nats';
import { request } from '../../src/client.js';
import { EnsureSingleTimeoutError, type OvsError } from '../../src/errors.js';
import { H } from '../../src/protocol/headers.js';
import { twoAgents } from '../helpers/two-agents.js';

let cluster: Awaited<ReturnType<typeof twoAgents>> | undefined;
let nc: NatsConnection;

test.before(async () => {
  cluster = await twoAgents();
  nc = cluster.nc;
});

test.after.always(async () => {
  await cluster?.stop();
});

// sleep_chained (one FIFO for all its calls) has a start timeout of 20 s; the running call holds the turn for 4 s.
const HOLD_MS = 4_000;

test.serial('services.call with ensureSingleTimeoutMs: the wait ends with EnsureSingleTimeoutError at that timeout, here and forwarded', async (t) => {
  const running = request(nc, 'ovs.task.test.sleep_chained', { ms: HOLD_MS, key: 'inline' }, { timeoutMs: 20_000 });
  // Once it runs, each agent's call waits behind it; one of the two agents forwards to the singleton's holder.
  await new Promise((r) => setTimeout(r, 300));
  const outcomes = await Promise.allSettled(cluster!.agents.map((a) => a.services.call('test.sleep_chained', { ms: 0, key: 'inline' }, undefined, { ensureSingleTimeoutMs: 200 })));
  for (const o of outcomes) {
    t.is(o.status, 'rejected');
    const e = (o as PromiseRejectedResult).reason as OvsError;
    t.true(e instanceof EnsureSingleTimeoutError, String(e));
    t.is(e.details.timeout_ms, 200);
  }
  t.true('started_at' in (await running as object));
});

test.serial(`header ${H.ensureSingleTimeout}: a client's request gives up its wait with ENSURE_SINGLE_TIMEOUT`, async (t) => {
  const running = request(nc, 'ovs.task.test.sleep_chained', { ms: HOLD_MS, key: 'wire' }, { timeoutMs: 20_000 });
  await new Promise((r) => setTimeout(r, 300));
  const e = await t.throwsAsync<OvsError>(request(nc, 'ovs.task.test.sleep_chained', { ms: 0, key: 'wire' }, { timeoutMs: 20_000, headers: { [H.ensureSingleTimeout]: '200' } }));
  t.is(e?.type, 'ENSURE_SINGLE_TIMEOUT');
  t.is(e?.details.timeout_ms, 200);
  // Without the header the same request waits its turn and runs.
  t.true('started_at' in (await request<object>(nc, 'ovs.task.test.sleep_chained', { ms: 0, key: 'wire' }, { timeoutMs: 20_000 })));
  await running;
});

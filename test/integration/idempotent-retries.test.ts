import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import type { NatsConnection } from 'nats';
import { connectClient, request, requestRaw } from '../../src/client.js';
import { OvsError, fromWire } from '../../src/errors.js';
import { H } from '../../src/protocol/headers.js';
import { TASK_RESULT } from '../../src/protocol/subjects.js';
import { COUNT_RUNS_DIR } from '../../src/tasks/test/sleep.js';
import { AgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/eventually.js';
import { run } from '../helpers/run.js';
import { NatsServer } from '../helpers/nats-server.js';

/**
 * Two agent processes: A answers the public subjects, B only its own node's. `test.count_runs` for B's node is
 * therefore forwarded A → B (the key travels with it), for A's node it runs where it arrives.
 */
let ns: NatsServer;
let a: AgentProcess;
let b: AgentProcess;
let nc: NatsConnection;
let prefix: string;
let n = 0;

const COUNT = 'ovs.task.test.count_runs';
const OVS = new URL('../../src/bin/ovs.js', import.meta.url).pathname;
interface Runs { runs: number; task_id: string; served_by: string }

test.before(async () => {
  prefix = `idem-${process.pid}-${Date.now()}`;
  ns = await NatsServer.start();
  a = await AgentProcess.start({ natsUrl: ns.url, name: 'idem-a', ip: '127.0.9.1' });
  b = await AgentProcess.start({ natsUrl: ns.url, name: 'idem-b', ip: '127.0.9.2', queue: false });
  nc = await connectClient(ns.url);
  await waitFor('both agents to answer', () => request(nc, COUNT, { storagerouter_guid: b.guid, file: `${prefix}-warmup` }, { timeoutMs: 5_000 }));
});

test.after.always(async () => {
  await nc?.close();
  await Promise.all([a?.stop(), b?.stop()]);
  await ns?.stop();
  for (const f of await readdir(COUNT_RUNS_DIR).catch(() => [])) if (f.startsWith(prefix)) await rm(join(COUNT_RUNS_DIR, f), { force: true });
  if (b) await rm(b.dataDir, { recursive: true, force: true });
});

/** A fresh count file and key per test. */
function fresh(): { file: string; key: string } {
  n++;
  return { file: `${prefix}-${n}`, key: `test-key:${n}.${Date.now()}` };
}

async function runsIn(file: string): Promise<number> {
  return (await readFile(join(COUNT_RUNS_DIR, file), 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
}

async function errorOf(p: Promise<unknown>): Promise<OvsError> {
  const r = await p.then(() => undefined, (e: unknown) => e as OvsError);
  if (!r) throw new Error('expected an error');
  return r;
}

test.serial('a retry with the same key runs once and answers the first outcome, marked replayed, also when forwarded', async (t) => {
  for (const node of [a.guid, b.guid]) {
    const { file, key } = fresh();
    const params = { storagerouter_guid: node, file };
    const first = await requestRaw(nc, COUNT, params, { idempotencyKey: key, timeoutMs: 10_000 });
    const again = await requestRaw(nc, COUNT, params, { idempotencyKey: key, timeoutMs: 10_000 });
    t.true(first.body.ok);
    t.deepEqual(again.body, first.body);
    t.is((first.body.result as Runs).served_by, node);
    t.not(first.headers?.get(H.idempotentReplay), '1');
    t.is(again.headers?.get(H.idempotentReplay), '1', 'the retry says its outcome is the first one');
    t.is(await runsIn(file), 1);
  }
});

test.serial('without a key nothing changes: a repeat runs again', async (t) => {
  const { file } = fresh();
  const params = { storagerouter_guid: b.guid, file };
  t.is((await request<Runs>(nc, COUNT, params)).runs, 1);
  t.is((await request<Runs>(nc, COUNT, params)).runs, 2);
});

test.serial('concurrent duplicates run once and all answer the one outcome', async (t) => {
  const { file, key } = fresh();
  const params = { storagerouter_guid: b.guid, file, ms: 300 };
  const answers = await Promise.all(Array.from({ length: 5 }, () => request<Runs>(nc, COUNT, params, { idempotencyKey: key, timeoutMs: 10_000 })));
  t.is(await runsIn(file), 1);
  for (const r of answers) t.deepEqual(r, answers[0]);
});

test.serial('a typed error is an outcome too: the retry answers the same error without running', async (t) => {
  const { file, key } = fresh();
  const params = { storagerouter_guid: b.guid, file, fail: true };
  const first = await errorOf(request(nc, COUNT, params, { idempotencyKey: key }));
  const again = await errorOf(request(nc, COUNT, params, { idempotencyKey: key }));
  t.is(first.type, 'VPOOL_ERROR');
  t.deepEqual(again.toWire(), first.toWire());
  t.is(await runsIn(file), 1);
});

test.serial('a client that timed out retries: while the first still runs it waits for it, afterwards it gets the kept outcome', async (t) => {
  const { file, key } = fresh();
  const params = { storagerouter_guid: b.guid, file, ms: 1_500 };
  const timedOut = await errorOf(request(nc, COUNT, params, { idempotencyKey: key, timeoutMs: 200 }));
  t.is(timedOut.type, 'DEADLINE_EXCEEDED');
  const waited = await request<Runs>(nc, COUNT, params, { idempotencyKey: key, timeoutMs: 10_000 });
  t.is(waited.runs, 1);
  const later = await requestRaw(nc, COUNT, params, { idempotencyKey: key, timeoutMs: 10_000 });
  t.deepEqual(later.body.result, waited);
  t.is(later.headers?.get(H.idempotentReplay), '1');
  t.is(await runsIn(file), 1);
});

test.serial('the same key with other parameters is IDEMPOTENCY_KEY_REUSED, sync and async', async (t) => {
  const { file, key } = fresh();
  await request(nc, COUNT, { storagerouter_guid: b.guid, file }, { idempotencyKey: key });
  const sync = await errorOf(request(nc, COUNT, { storagerouter_guid: b.guid, file, ms: 1 }, { idempotencyKey: key }));
  t.is(sync.type, 'IDEMPOTENCY_KEY_REUSED');
  const async = await errorOf(request(nc, COUNT, { storagerouter_guid: b.guid, file, ms: 2 }, { idempotencyKey: key, headers: { [H.async]: '1' } }));
  t.is(async.type, 'IDEMPOTENCY_KEY_REUSED');
  t.is(await runsIn(file), 1);
  // Defaults count as given: `ms: 0` spelled out is the same request.
  t.is((await request<Runs>(nc, COUNT, { storagerouter_guid: b.guid, file, ms: 0, fail: false }, { idempotencyKey: key })).runs, 1);
});

test.serial('a malformed key is BAD_REQUEST and runs nothing', async (t) => {
  const { file } = fresh();
  for (const key of ['', 'x'.repeat(129), 'has space', 'slash/no', 'ünï']) {
    const e = await errorOf(request(nc, COUNT, { storagerouter_guid: b.guid, file }, { idempotencyKey: key }));
    t.is(e.type, 'BAD_REQUEST', JSON.stringify(key));
  }
  t.is(await runsIn(file), 0);
  t.is((await request<Runs>(nc, COUNT, { storagerouter_guid: b.guid, file }, { idempotencyKey: 'A-z_0.9:' + 'k'.repeat(120) })).runs, 1);
});

test.serial('async: a retry answers the first task id and the task ran once', async (t) => {
  const { file, key } = fresh();
  const params = { storagerouter_guid: b.guid, file, ms: 300 };
  const start = () => requestRaw(nc, COUNT, params, { idempotencyKey: key, headers: { [H.async]: '1' } });
  const first = await start();
  const again = await start();
  const taskId = (first.body.result as { task_id: string }).task_id;
  t.deepEqual(again.body.result, { task_id: taskId });
  t.is(again.headers?.get(H.idempotentReplay), '1');
  const rec = await request<{ status: string; result: Runs }>(nc, TASK_RESULT, { task_id: taskId, wait_ms: 10_000 }, { timeoutMs: 15_000 });
  t.is(rec.status, 'SUCCESS');
  t.is(rec.result.runs, 1);
  // A sync retry of the async request answers its outcome too.
  t.deepEqual(await request(nc, COUNT, params, { idempotencyKey: key }), rec.result);
  t.is(await runsIn(file), 1);
});

test.serial('a NATS restart between the attempt and the retry: the task ran once and the retry answers its outcome', async (t) => {
  const { file, key } = fresh();
  const params = { storagerouter_guid: b.guid, file, ms: 1_500 };
  const first = request<Runs>(nc, COUNT, params, { idempotencyKey: key, timeoutMs: 2_000 }).catch((e: unknown) => e);
  await waitFor('the first attempt to run', async () => (await runsIn(file)) === 1);
  await ns.stop(true);
  ns = await NatsServer.startAt(ns);
  const retry = await waitFor('a retry to be answered', async () => {
    try {
      return { value: await request<Runs>(nc, COUNT, params, { idempotencyKey: key, timeoutMs: 2_000 }) };
    } catch (e) {
      // The agents and this client are reconnecting: no reply (a NATS error, not ours) or a retryable one.
      if (!(e instanceof OvsError) || e.retryable) return undefined;
      return { error: e };
    }
  }, 30_000, 200);
  t.is(retry.error, undefined, String(retry.error));
  t.is(retry.value?.runs, 1);
  t.is(await runsIn(file), 1);
  await first;
});

test.serial('an agent killed while it ran: a retry answers IDEMPOTENCY_OUTCOME_UNKNOWN (retryable) and never runs it again', async (t) => {
  const { file, key } = fresh();
  const params = { storagerouter_guid: b.guid, file, ms: 10_000 };
  void request(nc, COUNT, params, { idempotencyKey: key, timeoutMs: 20_000 }).catch(() => undefined);
  await waitFor('the first attempt to run', async () => (await runsIn(file)) === 1);
  await b.kill9AndWait();
  b = await AgentProcess.start({ natsUrl: ns.url, name: 'idem-b', ip: '127.0.9.2', queue: false, dataDir: b.dataDir });
  const e = await waitFor('the restarted agent to answer', async () => {
    const err = await errorOf(request(nc, COUNT, params, { idempotencyKey: key, timeoutMs: 5_000 }));
    return err.type === 'NOT_AVAILABLE' ? undefined : err;
  }, 30_000, 200);
  t.is(e.type, 'IDEMPOTENCY_OUTCOME_UNKNOWN');
  t.true(e.retryable);
  t.is(fromWire(e.toWire()).type, 'IDEMPOTENCY_OUTCOME_UNKNOWN');
  t.is(await runsIn(file), 1);
});

test.serial('ovs task --idempotency-key: a retry from the command line answers the first outcome', async (t) => {
  const { file, key } = fresh();
  const cli = (...args: string[]) => run(process.execPath, [OVS, 'task', 'test.count_runs', '--json', JSON.stringify({ storagerouter_guid: b.guid, file }), '--nats', ns.url, ...args]);
  const first = await cli('--idempotency-key', key);
  const again = await cli('--idempotency-key', key);
  t.is(first.code, 0, first.stderr);
  t.is(again.code, 0, again.stderr);
  t.deepEqual(JSON.parse(again.stdout), JSON.parse(first.stdout));
  t.is((JSON.parse(first.stdout) as Runs).runs, 1);
  t.is(await runsIn(file), 1);
});

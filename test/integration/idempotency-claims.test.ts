import test from 'ava';
import { connect, type KV, type NatsConnection } from 'nats';
import { pino } from 'pino';
import { BadRequestError, type OvsError } from '../../src/errors.js';
import { encode } from '../../src/protocol/codec.js';
import { H, headersOf } from '../../src/protocol/headers.js';
import { IdempotencyClaims, claimKey, hashParams, idempotencyKeyOf, idempotentTaskId, type ClaimRecord, type IdempotencyScope } from '../../src/transport/idempotency.js';
import { NatsServer } from '../helpers/nats-server.js';

/** The claims on a real JetStream KV bucket, with short refresh and staleness periods. */
let ns: NatsServer;
let nc: NatsConnection;
let kv: KV;
const log = pino({ level: 'silent' });
const timing = { refreshMs: 50, staleMs: 200 };
let n = 0;

test.before(async () => {
  ns = await NatsServer.start();
  nc = await connect({ servers: ns.url });
  kv = await nc.jetstream().views.kv('ovs_tasks_claims_test', { history: 1, ttl: 60_000 });
});

test.after.always(async () => {
  await nc?.close();
  await ns?.stop();
});

function scope(params: Record<string, unknown> = {}): IdempotencyScope {
  return { task: 'test.count_runs', key: `k${++n}`, paramsHash: hashParams(params) };
}

async function errorOf(p: Promise<unknown>): Promise<OvsError> {
  return p.then(() => Promise.reject(new Error('expected an error')), (e: unknown) => e as OvsError);
}

test('keys: absent is none, 1..128 of [A-Za-z0-9._:-] is a key, anything else BAD_REQUEST', (t) => {
  t.is(idempotencyKeyOf(undefined), undefined);
  t.is(idempotencyKeyOf(headersOf({ [H.async]: '1' })), undefined);
  for (const ok of ['a', 'A-z_0.9:x', 'k'.repeat(128)]) t.is(idempotencyKeyOf(headersOf({ [H.idempotencyKey]: ok })), ok);
  for (const bad of ['', 'k'.repeat(129), 'a b', 'a/b', 'é', 'a*']) {
    t.throws(() => idempotencyKeyOf(headersOf({ [H.idempotencyKey]: bad })), { instanceOf: BadRequestError }, JSON.stringify(bad));
  }
});

test('parameters hash alike in any key order; the task id follows task, key and parameters', (t) => {
  t.is(hashParams({ a: 1, b: { c: [1, 2], d: 'x' } }), hashParams({ b: { d: 'x', c: [1, 2] }, a: 1 }));
  t.not(hashParams({ a: 1 }), hashParams({ a: 2 }));
  t.not(hashParams({ a: [1, 2] }), hashParams({ a: [2, 1] }));
  const s = { task: 't.a', key: 'k', paramsHash: hashParams({}) };
  t.regex(idempotentTaskId(s), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  t.is(idempotentTaskId(s), idempotentTaskId({ ...s }));
  t.not(idempotentTaskId(s), idempotentTaskId({ ...s, task: 't.b' }));
  t.not(idempotentTaskId(s), idempotentTaskId({ ...s, key: 'k2' }));
  t.not(idempotentTaskId(s), idempotentTaskId({ ...s, paramsHash: hashParams({ x: 1 }) }));
});

test('the same key for another task is another claim', async (t) => {
  const claims = new IdempotencyClaims(kv, 'sr1', log, timing);
  const s = scope();
  let runs = 0;
  const work = async () => ++runs;
  t.is(await claims.once(s, 't1', Date.now() + 5_000, work, () => undefined), 1);
  t.is(await claims.once({ ...s, task: 'test.other' }, 't2', Date.now() + 5_000, work, () => undefined), 2);
  t.is(await claims.once(s, 't1', Date.now() + 5_000, work, () => undefined), 1);
  t.is(runs, 2);
});

test('a first attempt that runs longer than the staleness period stays alive: the follower gets its outcome', async (t) => {
  const first = new IdempotencyClaims(kv, 'sr1', log, timing);
  const other = new IdempotencyClaims(kv, 'sr2', log, timing);
  const s = scope();
  let runs = 0;
  const slow = first.once(s, 't', Date.now() + 10_000, async () => {
    runs++;
    await new Promise((r) => setTimeout(r, timing.staleMs * 4));
    return 'first';
  }, () => undefined);
  await new Promise((r) => setTimeout(r, 20));
  let replayed = false;
  t.is(await other.once(s, 't', Date.now() + 10_000, async () => ++runs, () => (replayed = true)), 'first');
  t.is(await slow, 'first');
  t.true(replayed);
  t.is(runs, 1);
});

test('a running claim of an agent that stopped refreshing it: IDEMPOTENCY_OUTCOME_UNKNOWN, not a second run', async (t) => {
  const s = scope();
  const key = claimKey(s);
  const old = Date.now() - 60_000;
  const dead: ClaimRecord = { task: s.task, key: s.key, params_hash: s.paramsHash, task_id: 't', status: 'RUNNING', storagerouter_guid: 'sr-dead', instance: 'i', claimed_at: old, alive_at: old };
  await kv.put(key, encode(dead));
  const claims = new IdempotencyClaims(kv, 'sr1', log, timing);
  let runs = 0;
  const e = await errorOf(claims.once(s, 't', Date.now() + 10_000, async () => ++runs, () => undefined));
  t.is(e.type, 'IDEMPOTENCY_OUTCOME_UNKNOWN');
  t.is(e.details.storagerouter_guid, 'sr-dead');
  t.is(runs, 0);
});

test('a running claim of an earlier life of this agent is unknown at once; a live one is waited for until the deadline', async (t) => {
  const s = scope();
  const key = claimKey(s);
  const now = Date.now();
  await kv.put(key, encode({ task: s.task, key: s.key, params_hash: s.paramsHash, task_id: 't', status: 'RUNNING', storagerouter_guid: 'sr1', instance: 'earlier', claimed_at: now, alive_at: now } satisfies ClaimRecord));
  const claims = new IdempotencyClaims(kv, 'sr1', log, { refreshMs: 60_000, staleMs: 600_000 });
  t.is((await errorOf(claims.once(s, 't', Date.now() + 10_000, async () => 1, () => undefined))).type, 'IDEMPOTENCY_OUTCOME_UNKNOWN');
  const elsewhere = new IdempotencyClaims(kv, 'sr2', log, { refreshMs: 60_000, staleMs: 600_000 });
  t.is((await errorOf(elsewhere.once(s, 't', Date.now() + 300, async () => 1, () => undefined))).type, 'DEADLINE_EXCEEDED');
});

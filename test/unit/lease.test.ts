import test from 'ava';
import { connect, type KV, type NatsConnection } from 'nats';
import { pino } from 'pino';
import { Lease, type LeaseRecord } from '../../src/cluster/lease.js';
import { LeaseTable } from '../../src/cluster/lease-table.js';
import { STEP_DOWN_SHARE } from '../../src/cluster/lease-rules.js';
import { Singletons } from '../../src/cluster/singletons.js';
import { decode } from '../../src/protocol/codec.js';
import { waitFor } from '../helpers/eventually.js';
import { NatsServer } from '../helpers/nats-server.js';

const TTL = 10_000;
let ns: NatsServer;
let nc: NatsConnection;
let kv: KV;

test.before(async () => {
  ns = await NatsServer.start();
  nc = await connect({ servers: ns.url });
  kv = await openBucket(nc);
});

test.after.always(async () => {
  await nc?.close();
  await ns?.stop();
});

function openBucket(conn: NatsConnection): Promise<KV> {
  return conn.jetstream().views.kv('test_leases', { history: 1 });
}

let keys = 0;
const freshKey = (): string => `lease-${++keys}`;

/** A lease on its own fake monotonic clock; the clock only moves when the test moves it. */
function agent(me: string, key: string, store: KV = kv, ttlMs = TTL): { lease: Lease; clock: { now: number }; events: string[] } {
  const clock = { now: 1_000 };
  const lease = new Lease(store, key, me, ttlMs, () => clock.now);
  const events: string[] = [];
  for (const e of ['acquired', 'lost', 'released']) lease.on(e, () => events.push(e));
  return { lease, clock, events };
}

async function holderOf(key: string): Promise<string | undefined> {
  const e = await kv.get(key);
  return e?.operation === 'PUT' ? (decode(e.value) as LeaseRecord).holder : undefined;
}

async function revisionOf(key: string): Promise<number | undefined> {
  return (await kv.get(key))?.revision;
}

test('acquires a free key, then renews it by moving its revision', async (t) => {
  const key = freshKey();
  const a = agent('a', key);
  await a.lease.round();
  t.true(a.lease.isHeld);
  t.deepEqual(a.events, ['acquired']);
  t.is(await holderOf(key), 'a');
  const first = await revisionOf(key);
  a.clock.now += TTL / 3;
  await a.lease.round();
  t.true(a.lease.isHeld);
  t.true((await revisionOf(key))! > first!, 'the renewal wrote a new revision');
  t.deepEqual(a.events, ['acquired'], 'renewing is not acquiring again');
  await a.lease.stop();
});

test('another agent cannot take it before a whole ttl, and every renewal restarts its wait', async (t) => {
  const key = freshKey();
  const a = agent('a', key);
  const b = agent('b', key);
  await a.lease.round();
  await b.lease.round();
  b.clock.now += TTL - 1;
  await b.lease.round();
  t.false(b.lease.isHeld, 'one millisecond short of the ttl');
  await a.lease.round();
  b.clock.now += 5 * TTL;
  await b.lease.round();
  t.false(b.lease.isHeld, 'a renewal in between: the old revision\'s age does not count');
  t.is(await holderOf(key), 'a');
  t.deepEqual(b.events, []);
  await a.lease.stop();
});

test('another agent takes it once the revision stood still for a ttl; the old holder then loses it', async (t) => {
  const key = freshKey();
  const a = agent('a', key);
  const b = agent('b', key);
  await a.lease.round();
  await b.lease.round();
  b.clock.now += TTL;
  await b.lease.round();
  t.true(b.lease.isHeld);
  t.deepEqual(b.events, ['acquired']);
  t.is(await holderOf(key), 'b');
  await a.lease.round();
  t.false(a.lease.isHeld, 'its compare-and-set renewal failed');
  t.deepEqual(a.events, ['acquired', 'lost']);
  t.is(await holderOf(key), 'b');
  await b.lease.stop();
});

test('a holder that cannot reach the KV stops holding at 0.8 ttl on its own clock', async (t) => {
  const key = freshKey();
  const conn = await connect({ servers: ns.url });
  const a = agent('a', key, await openBucket(conn));
  await a.lease.round();
  await conn.close();
  a.clock.now += TTL * STEP_DOWN_SHARE - 1;
  await t.throwsAsync(a.lease.round());
  t.true(a.lease.isHeld, 'still within its share of the ttl');
  a.clock.now += 1;
  await t.throwsAsync(a.lease.round());
  t.false(a.lease.isHeld);
  t.deepEqual(a.events, ['acquired', 'lost']);
});

test('a holder whose renewals hang steps down by itself, without a round', async (t) => {
  const ttl = 300;
  const lease = new Lease(kv, freshKey(), 'a', ttl);
  // Taken before the round: the lease's clock starts inside it, and on a loaded machine round() resolves late.
  const since = performance.now();
  await lease.round();
  const lost = new Promise<boolean>((resolve) => lease.once('lost', () => resolve(true)));
  t.true(await Promise.race([lost, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5 * ttl))]), 'stepped down');
  t.true(performance.now() - since >= ttl * STEP_DOWN_SHARE - 20, 'not before its share of the ttl');
  t.false(lease.isHeld);
  await lease.stop();
});

test('release: stop() deletes the key and says so; a waiting contender takes it at once', async (t) => {
  const key = freshKey();
  const a = agent('a', key);
  const b = agent('b', key);
  await a.lease.round();
  await b.lease.round();
  await a.lease.stop();
  t.false(a.lease.isHeld);
  t.deepEqual(a.events, ['acquired', 'released']);
  t.is(await holderOf(key), undefined);
  await b.lease.round();
  t.true(b.lease.isHeld, 'no ttl to wait out after a release');
  await b.lease.stop();
});

test('an agent takes back its own record at once after a restart', async (t) => {
  const key = freshKey();
  await agent('a', key).lease.round();
  const restarted = agent('a', key);
  await restarted.lease.round();
  t.true(restarted.lease.isHeld);
  await restarted.lease.stop();
});

test('a round that finishes after stop() gives the lease back instead of holding it', async (t) => {
  const key = freshKey();
  const a = agent('a', key);
  await a.lease.stop();
  await a.lease.round();
  t.false(a.lease.isHeld);
  t.deepEqual(a.events, []);
  t.is(await holderOf(key), undefined);
});

test('agents racing for a free key: exactly one holds it', async (t) => {
  const key = freshKey();
  const racers = ['a', 'b', 'c'].map((me) => agent(me, key));
  await Promise.all(racers.map((r) => r.lease.round()));
  const holders = racers.filter((r) => r.lease.isHeld);
  t.is(holders.length, 1);
  t.is(await holderOf(key), ['a', 'b', 'c'][racers.indexOf(holders[0]!)]);
  await Promise.all(racers.map((r) => r.lease.stop()));
});

test('the lease table follows holders through the KV watch', async (t) => {
  const key = freshKey();
  const table = new LeaseTable();
  await table.start(kv);
  const a = agent('a', key);
  await a.lease.round();
  await waitFor('holder a', () => table.holderOf(key) === 'a');
  t.true(table.entries().some((e) => e.lease === key && e.holder === 'a'));
  await a.lease.stop();
  await waitFor('released', () => table.holderOf(key) === undefined);
  table.stop();
  t.pass();
});

// Long enough that a loaded machine stalling this process does not pass for an expired holder.
const SINGLETON_TTL = 3_000;

test('singletons run where the lease is held and move when it is released', async (t) => {
  const key = freshKey();
  const log = pino({ level: 'silent' });
  const stopped: string[] = [];
  const onStop: string[] = [];
  const place = (me: string): Singletons<string> => {
    const s = new Singletons<string>(kv, me, SINGLETON_TTL, (ref) => stopped.push(ref), log);
    s.ensure({ lease: key, spawn: () => `actor@${me}`, onStop: () => onStop.push(me) });
    return s;
  };
  const a = place('a');
  await waitFor('a runs it', () => a.local(key) === 'actor@a');
  const b = place('b');
  // b reads the key at once and again every ttl/3: two more rounds, each seeing a renewal.
  await new Promise((r) => setTimeout(r, SINGLETON_TTL * 0.75));
  t.is(b.local(key), undefined, 'b waits while a renews');
  t.deepEqual(b.keys(), [key]);
  await a.release(key);
  t.deepEqual(onStop, ['a']);
  t.deepEqual(stopped, ['actor@a']);
  t.is(a.local(key), undefined);
  t.deepEqual(a.keys(), []);
  await waitFor('b runs it, within a round and without waiting out a ttl', () => b.local(key) === 'actor@b', SINGLETON_TTL * 0.9);
  await b.stopAll();
  t.deepEqual(stopped, ['actor@a', 'actor@b']);
});

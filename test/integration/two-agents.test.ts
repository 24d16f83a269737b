import test from 'ava';
import type { NatsConnection } from 'nats';
import { connectClient, request, requestRaw } from '../../src/client.js';
import { NotAvailableError } from '../../src/errors.js';
import { H } from '../../src/protocol/headers.js';
import { decode, encode } from '../../src/protocol/codec.js';
import { AgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/eventually.js';
import { NatsServer } from '../helpers/nats-server.js';

let ns: NatsServer;
let nc: NatsConnection;
const agents: AgentProcess[] = [];

test.before(async () => {
  ns = await NatsServer.start();
  nc = await connectClient(ns.url);
});

test.after.always(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await nc?.close();
  await ns?.stop();
});

test.serial('a task for node B that reaches only A is forwarded to B and answered by B', async (t) => {
  const a = await AgentProcess.start({ natsUrl: ns.url, name: 'node-a', ip: '127.0.0.11' });
  const b = await AgentProcess.start({ natsUrl: ns.url, name: 'node-b', ip: '127.0.0.12', queue: false });
  agents.push(a, b);
  for (let i = 0; i < 5; i++) {
    const { body, headers } = await requestRaw(nc, 'ovs.task.storagerouter.get_version_info', { storagerouter_guid: b.guid });
    t.true(body.ok);
    t.is((body.result as { storagerouter_guid: string }).storagerouter_guid, b.guid);
    t.is(headers?.get(H.servedBy), a.guid, 'A picked it up from the queue group');
  }
  // B's execution is visible in B's model effect: ping through A updates B's heartbeat.
  await request(nc, 'ovs.task.storagerouter.ping', { storagerouter_guid: b.guid, timestamp: 4_000_000_000 });
  const srB = await request<{ heartbeats: { celery: number } }>(nc, 'ovs.model.storagerouter.get', { guid: b.guid });
  t.is(srB.heartbeats.celery, 4_000_000_000);
});

test.serial('a task for a StorageRouter whose agent is down gets a retryable NOT_AVAILABLE', async (t) => {
  const c = await AgentProcess.start({ natsUrl: ns.url, name: 'node-c', ip: '127.0.0.13' });
  await c.stop();
  const e = await t.throwsAsync(request(nc, 'ovs.task.storagerouter.get_version_info', { storagerouter_guid: c.guid }));
  t.true(e instanceof NotAvailableError);
  t.true((e as NotAvailableError).retryable);
});

test.serial('kill -9 of the vPool singleton holder: another agent takes the vPool over and serves it', async (t) => {
  const e = await AgentProcess.start({ natsUrl: ns.url, name: 'node-e', ip: '127.0.0.15' });
  agents.push(e);
  const live = agents.filter((x) => x.child.exitCode === null && x.child.signalCode === null);
  // A vPool appears in the model: every agent contends for its lease.
  const kv = await nc.jetstream().views.kv('ovs_model');
  const vpoolGuid = 'vp-failover-1';
  await kv.create(`vpool.${vpoolGuid}`, encode({ name: 'pool-failover', status: 'RUNNING', description: null, metadata: {} }));
  const balance = (): Promise<unknown> => request(nc, 'ovs.task.vpool.balance_change', { vpool_guid: vpoolGuid, exported_balances: [] }, { timeoutMs: 15_000 });
  const leases = await nc.jetstream().views.kv('ovs_leases');
  const holderOf = async (): Promise<string | undefined> => {
    const entry = await leases.get(`vpool.${vpoolGuid}`);
    return entry && entry.operation === 'PUT' ? (decode(entry.value) as { holder: string }).holder : undefined;
  };
  const first = await waitFor('a vPool lease holder', holderOf);
  const holder = live.find((x) => x.guid === first);
  t.truthy(holder, 'the holder is one of the running agents');
  t.deepEqual(await balance(), { vpool_guid: vpoolGuid, moved: 0 });
  holder!.kill9();
  const second = await waitFor('another agent holds the vPool lease', async () => {
    const h = await holderOf();
    return h && h !== first ? h : undefined;
  }, 20_000);
  t.true(live.some((x) => x.guid === second && x !== holder));
  // The request is answered again, by the singleton at its new home (the client never sees the move).
  t.deepEqual(await balance(), { vpool_guid: vpoolGuid, moved: 0 });
});

test.serial('graceful shutdown: SIGTERM lets an in-flight request finish, deregisters from discovery, exits 0', async (t) => {
  // Alone in the cluster, so the in-flight request is surely this agent's (it also holds the cluster lease then).
  await Promise.all(agents.map((a) => a.stop()));
  const g = await AgentProcess.start({ natsUrl: ns.url, name: 'node-g', ip: '127.0.0.17', queue: true });
  const warm = await request<{ served_by: string }>(nc, 'ovs.task.test.sleep_none', { ms: 0 }, { timeoutMs: 20_000 }).catch((e: unknown) => {
    throw new Error(`${String(e)}; agent log: ${g.log.join('').slice(-1500)}`);
  });
  t.is(warm.served_by, g.guid);
  const pending = request<{ served_by: string }>(nc, 'ovs.task.test.sleep_none', { ms: 1500 }, { timeoutMs: 20_000 }).catch((e: unknown) => e);
  await new Promise((r) => setTimeout(r, 300));
  const exited = g.stop();
  const outcome = await pending;
  t.false(outcome instanceof Error, `the in-flight request was answered: ${String(outcome)}`);
  t.is(await exited, 0);
  const { pingAgents } = await import('../../src/cli/cluster.js');
  t.false((await pingAgents(nc)).some((p) => p.metadata?.storagerouter_guid === g.guid), 'no longer discoverable');
});

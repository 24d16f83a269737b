import test from 'ava';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectClient, request } from '../../src/client.js';
import { AgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/eventually.js';
import { NatsCluster } from '../helpers/nats-cluster.js';

const set = (nc: Awaited<ReturnType<typeof connectClient>>, value: number): Promise<unknown> => request(nc, 'ovs.config.set', { key: '/ovs/test/quorum', value }, { timeoutMs: 20_000 });

async function readyz(agent: AgentProcess): Promise<{ status: number; text: string }> {
  const { http_url } = JSON.parse(await readFile(join(agent.dataDir, 'ready.json'), 'utf8')) as { http_url: string };
  const r = await fetch(`${http_url}/readyz`);
  return { status: r.status, text: await r.text() };
}

test('a three-server NATS cluster: one server down changes nothing; without quorum writes are a retryable NOT_AVAILABLE, /readyz says why, a starting agent waits; all recover by themselves', async (t) => {
  const cluster = await NatsCluster.create(3);
  t.teardown(() => cluster.stop());
  for (const i of [0, 1, 2]) await cluster.start(i);
  const dir = await mkdtemp(join(tmpdir(), 'ovs-quorum-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const config = join(dir, 'agent.json');
  await writeFile(config, JSON.stringify({ kvReplicas: 3 }));
  const agent = await AgentProcess.start({ natsUrl: cluster.allUrls, name: 'q1', ip: '127.0.0.1', extraArgs: ['--config', config, '--http-port', '0'] });
  t.teardown(() => agent.stop());
  const nc = await connectClient(cluster.allUrls);
  t.teardown(() => nc.close());
  const pid = await agent.pid();
  await set(nc, 1);

  await cluster.stopMember(2);
  // The client or the agent may have been on that server: they move to another one; then writes go on as before.
  await waitFor('a write with one server down', () => set(nc, 2).then(() => true, () => false), 30_000, 500);
  await set(nc, 3);

  await cluster.stopMember(1);
  // While the agent moves off the stopped server a request can go unanswered at the client; what the agent answers is typed.
  const e = await waitFor('a write without quorum to be refused', () => set(nc, 4).then(() => undefined, (x: unknown) => ((x as { type?: string }).type ? x as { type: string; retryable: boolean; message: string } : undefined)), 90_000, 500);
  t.is(e.type, 'NOT_AVAILABLE', e.message);
  t.true(e.retryable);
  const notReady = await waitFor('/readyz to say not ready', async () => {
    const r = await readyz(agent);
    return r.status !== 200 ? r : undefined;
  }, 30_000, 500);
  t.regex(notReady.text, /JetStream|KV store|NATS/);

  // An agent that starts now waits and says why, instead of exiting.
  const lateLog: string[] = [];
  const late = AgentProcess.start({ natsUrl: cluster.allUrls, name: 'q2', ip: '127.0.0.9', extraArgs: ['--config', config, '--http-port', '0'], logSink: lateLog });
  const lateStarted = late.then((a) => {
    t.teardown(() => a.stop());
    return a;
  });
  await waitFor('the late agent to say why it waits', () => lateLog.join('').includes('waiting for NATS JetStream'), 60_000, 200);

  await cluster.start(1);
  await cluster.start(2);
  await waitFor('writes to work again', () => set(nc, 5).then(() => true, () => false), 60_000, 1_000);
  let last = '';
  await waitFor('/readyz ready again', async () => {
    const r = await readyz(agent);
    last = r.text;
    return r.status === 200;
  }, 60_000, 500).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}: ${last}`);
  });
  t.is(await agent.pid(), pid, 'the agent recovered without a restart');
  const second = await lateStarted;
  t.true(existsSync(join(second.dataDir, 'ready.json')));
  t.regex(second.log.join(''), /waiting for NATS JetStream/, 'it said why it waited');
  t.like(await request(nc, 'ovs.config.get', { key: '/ovs/test/quorum' }), { value: 5 });
});

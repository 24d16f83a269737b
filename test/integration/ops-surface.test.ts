import { createRequire } from 'node:module';
import test from 'ava';
import { connectClient, request } from '../../src/client.js';
import { pingAgents } from '../../src/cli/cluster.js';
import { waitFor } from '../helpers/eventually.js';
import { startAgent } from '../helpers/in-process-agent.js';
import { NatsServer } from '../helpers/nats-server.js';
import { run } from '../helpers/run.js';
import type parseFn from 'parse-prometheus-text-format';

const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as typeof parseFn;
const BIN = new URL('../../src/bin/ovs.js', import.meta.url).pathname;

async function metrics(url: string): Promise<ReturnType<typeof parseFn>> {
  return parse(await (await fetch(`${url}/metrics`)).text());
}

function value(families: ReturnType<typeof parseFn>, name: string, labels: Record<string, string> = {}): number | undefined {
  const f = families.find((x) => x.name === name);
  const m = f?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  return m ? Number(m.value ?? m.count) : undefined;
}

test.serial('/metrics parses as Prometheus text: task counts, errors and latency per task, bounded labels, process metrics', async (t) => {
  const ns = await NatsServer.start();
  const agent = await startAgent(ns.url, { httpPort: 0 });
  const nc = await connectClient(ns.url);
  const g = agent.storagerouterGuid;
  for (let i = 0; i < 3; i++) await request(nc, 'ovs.task.storagerouter.get_version_info', { storagerouter_guid: g });
  await t.throwsAsync(request(nc, 'ovs.task.storagerouter.get_version_info', { storagerouter_guid: 'nope' }));
  const fam = await metrics(agent.httpUrl!);
  t.is(value(fam, 'ovs_task_requests_total', { task: 'storagerouter.get_version_info', outcome: 'ok' }), 3);
  t.is(value(fam, 'ovs_task_requests_total', { task: 'storagerouter.get_version_info', outcome: 'error', error_type: 'OBJECT_NOT_FOUND' }), 1);
  // This parser keeps one bucket map per histogram and drops the series' labels, so only one task is observed here.
  const hist = fam.find((f) => f.name === 'ovs_task_duration_seconds');
  t.is(hist?.type, 'HISTOGRAM');
  const buckets = Object.entries(hist?.metrics[0]?.buckets ?? {}).map(([le, n]) => [le === '+Inf' ? Infinity : Number(le), Number(n)] as const).sort((a, b) => a[0] - b[0]);
  t.true(buckets.length > 1);
  t.deepEqual(buckets.at(-1), [Infinity, 4], 'every request, answered or refused, is timed');
  for (let i = 1; i < buckets.length; i++) t.true(buckets[i]![1] >= buckets[i - 1]![1], `bucket le=${buckets[i]![0]} is cumulative`);
  t.true((value(fam, 'ovs_process_cpu_user_seconds_total') ?? -1) > 0);
  t.is(value(fam, 'ovs_ready'), 1);
  // No label carries an object guid: cardinality stays bounded by the task table and actor kinds.
  for (const f of fam) for (const m of f.metrics) for (const v of Object.values(m.labels ?? {})) t.false(/[0-9a-f]{8}-[0-9a-f]{4}-/.test(v), `${f.name} has a guid label`);
  // Discovery with stock NATS habits.
  const pings = await pingAgents(nc);
  t.deepEqual(pings.map((p) => p.metadata?.storagerouter_guid), [g]);
  const info = JSON.parse(Buffer.from((await nc.request('$SRV.INFO.ovs-agent', new Uint8Array(), { timeout: 2_000 })).data).toString()) as { name: string; endpoints: unknown[] };
  t.is(info.name, 'ovs-agent');
  t.true(info.endpoints.length >= 4);
  await nc.close();
  await agent.stop();
  await ns.stop();
});

test.serial('/readyz turns not-ready when NATS stops and ready again after it restarts; the agent reconnects', async (t) => {
  const ns = await NatsServer.start();
  const agent = await startAgent(ns.url, { httpPort: 0 });
  const ready = async (): Promise<{ status: number; text: string }> => {
    const r = await fetch(`${agent.httpUrl}/readyz`);
    return { status: r.status, text: await r.text() };
  };
  t.is((await ready()).status, 200);
  await ns.stop(true);
  const down = await waitFor('not ready', async () => ((await ready()).status === 503 ? ready() : undefined));
  t.regex(down.text, /NATS/);
  t.is((await fetch(`${agent.httpUrl}/healthz`)).status, 200, 'the process itself stays healthy');
  const again = await NatsServer.startAt(ns);
  await waitFor('ready again', async () => (await ready()).status === 200, 30_000);
  const nc = await connectClient(again.url);
  t.truthy(await request(nc, 'ovs.task.storagerouter.get_version_info', { storagerouter_guid: agent.storagerouterGuid }), 'and serves requests again');
  t.true((value(await metrics(agent.httpUrl!), 'ovs_nats_reconnects_total') ?? 0) >= 1);
  await nc.close();
  await agent.stop();
  await again.stop();
});

test.serial('a crash-looping actor shows restarts in /metrics and ovs tree, then escalates to a degraded /readyz', async (t) => {
  const ns = await NatsServer.start();
  const agent = await startAgent(ns.url, { httpPort: 0, testCrashLoopMs: 30 });
  await waitFor('restarts on /metrics', async () => (value(await metrics(agent.httpUrl!), 'ovs_actor_restarts_total', { kind: 'crashloop' }) ?? 0) >= 2);
  const tree = await run(process.execPath, [BIN, 'tree', '--json', '--nats', ns.url]);
  const nodes = JSON.parse(tree.stdout) as Record<string, Array<{ path: string; restarts: number }>>;
  const crash = Object.values(nodes)[0]!.find((a) => a.path.endsWith('crashloop'));
  t.true((crash?.restarts ?? 0) >= 1, 'ovs tree shows the restarts');
  const r = await waitFor('degraded', async () => {
    const res = await fetch(`${agent.httpUrl}/readyz`);
    return res.status === 503 ? res.text() : undefined;
  });
  t.regex(r, /degraded: .*crashloop crashed/);
  t.is(value(await metrics(agent.httpUrl!), 'ovs_actor_escalations_total', { kind: 'crashloop' }), 1);
  await waitFor('dashboard shows the escalated actor', async () => {
    const s = (await (await fetch(`${agent.httpUrl}/api/cluster`)).json()) as { nodes: Array<{ tree: Array<{ path: string; status: string }> }> };
    return s.nodes[0]?.tree.some((a) => a.path.endsWith('crashloop') && a.status === 'escalated');
  });
  t.pass();
  await agent.stop();
  await ns.stop();
});


import test from 'ava';
import { connectClient, request } from '../../src/client.js';
import { decode } from '../../src/protocol/codec.js';
import { AgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/eventually.js';
import { NatsServer } from '../helpers/nats-server.js';

test('schedules from config fire on the lease holder only; after kill -9 of the holder the other continues, never firing an occurrence twice', async (t) => {
  const ns = await NatsServer.start();
  const nc = await connectClient(ns.url);
  const agents: AgentProcess[] = [];
  try {
    const args = ['--scheduler-tick-ms', '200'];
    agents.push(await AgentProcess.start({ natsUrl: ns.url, name: 'sa', ip: '127.0.0.31', extraArgs: args }));
    agents.push(await AgentProcess.start({ natsUrl: ns.url, name: 'sb', ip: '127.0.0.32', extraArgs: args }));
    await request(nc, 'ovs.config.set', { key: '/ovs/framework/scheduling/celery', value: { 'ovs.test.sleep_none': { second: '*/2' }, 'ovs.generic.snapshot_all_vdisks': null } });
    const leases = await nc.jetstream().views.kv('ovs_leases');
    const tasks = await nc.jetstream().views.kv('ovs_tasks');
    const state = async (): Promise<{ last: number; fired: number }> => {
      const e = await leases.get('schedule.ovs_test_sleep_none');
      return e && e.operation === 'PUT' ? (decode(e.value) as { last: number; fired: number }) : { last: 0, fired: 0 };
    };
    const executions = async (): Promise<number> => {
      // Collect the keys first: awaiting inside the keys() iteration ends it early.
      const keys: string[] = [];
      for await (const k of await tasks.keys()) keys.push(k);
      let n = 0;
      for (const k of keys) {
        const e = await tasks.get(k);
        if (e && (decode(e.value) as { task: string }).task === 'test.sleep_none') n++;
      }
      return n;
    };
    await waitFor('two firings', async () => (await state()).fired >= 2, 20_000);
    const holderGuid = (decode((await leases.get('cluster'))!.value) as { holder: string }).holder;
    const holder = agents.find((a) => a.guid === holderGuid)!;
    const before = (await state()).fired;
    const t0 = Date.now();
    holder.kill9();
    await waitFor('firings continue on the other agent', async () => (await state()).fired >= before + 3, 30_000);
    const s = await state();
    const elapsedOccurrences = Math.ceil((Date.now() - t0) / 2000) + 1;
    t.true(s.fired - before <= elapsedOccurrences, `no extra firings: ${s.fired - before} fired over ${elapsedOccurrences} occurrences`);
    // Each occurrence is claimed before it runs: at most once. The holder killed right after a claim loses that one run.
    await new Promise((r) => setTimeout(r, 500));
    const runs = await executions();
    const now = (await state()).fired;
    t.true(runs <= now && runs >= now - 1, `${runs} runs for ${now} claimed occurrences`);
    t.not((decode((await leases.get('cluster'))!.value) as { holder: string }).holder, holderGuid);
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
    await nc.close();
    await ns.stop();
  }
});

import test from 'ava';
import type { NatsConnection } from 'nats';
import { request } from '../../src/client.js';
import { twoAgents } from '../helpers/two-agents.js';

interface Ran { task_id: string; started_at: number; finished_at: number }
interface NotRun { ensure_single: string; running_task_id?: string; covered_by_task_id?: string; covering_outcome?: string }
type Reply = Ran | NotRun;

let cluster: Awaited<ReturnType<typeof twoAgents>> | undefined;
let nc: NatsConnection;

test.before(async () => {
  cluster = await twoAgents();
  nc = cluster.nc;
});

test.after.always(async () => {
  await cluster?.stop();
});

const fire = (task: string, params: Record<string, unknown>, n: number): Promise<Reply[]> =>
  Promise.all(Array.from({ length: n }, () => request<Reply>(nc, `ovs.task.test.${task}`, params, { timeoutMs: 20_000 })));

const ran = (r: Reply[]): Ran[] => r.filter((x): x is Ran => 'started_at' in x);
const overlaps = (runs: Ran[]): boolean => {
  const sorted = [...runs].sort((a, b) => a.started_at - b.started_at);
  return sorted.some((r, i) => i > 0 && r.started_at < sorted[i - 1]!.finished_at);
};

test.serial('NONE: concurrent requests all run, overlapping', async (t) => {
  const replies = await fire('sleep_none', { ms: 400 }, 4);
  t.is(ran(replies).length, 4);
  t.true(overlaps(ran(replies)));
});

test.serial('DEFAULT: one runs, the rest are answered at once as discarded, naming the running task', async (t) => {
  const replies = await fire('sleep_default', { ms: 600 }, 6);
  const runs = ran(replies);
  t.is(runs.length, 1);
  const dropped = replies.filter((x): x is NotRun => 'ensure_single' in x);
  t.is(dropped.length, 5);
  for (const d of dropped) {
    t.is(d.ensure_single, 'discarded');
    t.is(d.running_task_id, runs[0]!.task_id);
  }
  // Afterwards the task runs again.
  t.is(ran(await fire('sleep_default', { ms: 0 }, 1)).length, 1);
});

test.serial('DEDUPED: identical requests run at most twice, serially; different keys run in parallel', async (t) => {
  const [same, other] = await Promise.all([fire('sleep_deduped', { ms: 400, key: 'a' }, 5), fire('sleep_deduped', { ms: 400, key: 'b' }, 1)]);
  const runs = ran(same);
  t.is(runs.length, 2, 'one running + one pending');
  t.false(overlaps(runs), 'identical runs never overlap');
  const covered = same.filter((x): x is NotRun => 'ensure_single' in x);
  t.is(covered.length, 3);
  const second = [...runs].sort((x, y) => x.started_at - y.started_at)[1]!;
  for (const c of covered) {
    t.is(c.ensure_single, 'deduplicated');
    t.is(c.covered_by_task_id, second.task_id, 'covered by the run that started after they arrived');
    t.is(c.covering_outcome, 'succeeded');
  }
  t.true(overlaps([...runs, ...ran(other)]), 'key b ran alongside key a');
});

test.serial('CHAINED: all requests of the task run one after another in arrival order, identical ones coalesced', async (t) => {
  const order: string[] = [];
  const send = async (key: string): Promise<Reply> => {
    const r = await request<Reply>(nc, 'ovs.task.test.sleep_chained', { ms: 150, key }, { timeoutMs: 20_000 });
    order.push(key);
    return r;
  };
  const replies: Promise<Reply>[] = [];
  for (const key of ['a', 'b', 'c', 'a', 'a', 'a']) {
    replies.push(send(key));
    await new Promise((r) => setTimeout(r, 20)); // arrival order is part of the contract
  }
  const all = await Promise.all(replies);
  const runs = ran(all);
  t.false(overlaps(runs), 'never two at once');
  t.is(runs.length, 4, 'a, b, c, a run; two registrations of a exist already, so the last two a are coalesced');
  t.is(all.filter((x) => 'ensure_single' in x).length, 2);
  t.deepEqual(order.slice(0, 3), ['a', 'b', 'c']);
});

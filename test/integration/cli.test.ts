import test from 'ava';
import { run } from '../helpers/run.js';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { NatsConnection } from 'nats';
import type { Agent } from '../../src/agent.js';
import { connectClient, request } from '../../src/client.js';
import { listNodes, modelNodes } from '../../src/cli/cluster.js';
import { fullName } from '../../src/tasks/define.js';
import { buildTaskTable } from '../../src/tasks/table.js';
import { startAgent } from '../helpers/in-process-agent.js';
import { NatsServer } from '../helpers/nats-server.js';

const BIN = fileURLToPath(new URL('../../src/bin/ovs.js', import.meta.url));

let server: NatsServer;
let agent: Agent;
let nc: NatsConnection;
let me: string;

type Run = Awaited<ReturnType<typeof run>>;

/** Runs the CLI to completion (never with a shell: arguments arrive exactly as given). */
function ovs(...args: string[]): Promise<Run> {
  return run(process.execPath, [BIN, ...args]);
}

function json<T = unknown>(r: Run): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${r.code}): ${r.stdout}\nstderr: ${r.stderr}`);
  }
}

test.before(async () => {
  server = await NatsServer.start();
  agent = await startAgent(server.url);
  me = agent.storagerouterGuid;
  nc = await connectClient(server.url);
});

test.after.always(async () => {
  await nc?.close();
  await agent?.stop();
  await server?.stop();
});

test('task with key=value and --json prints the result as JSON', async (t) => {
  const r = await ovs('task', 'storagerouter.get_version_info', `storagerouter_guid=${me}`, '--json', '--nats', server.url);
  t.is(r.code, 0, r.stderr);
  const out = json<{ storagerouter_guid: string; versions: Record<string, string> }>(r);
  t.is(out.storagerouter_guid, me);
  t.truthy(out.versions.ovs);
});

test('task with --json parameters', async (t) => {
  const r = await ovs('task', 'storagerouter.get_version_info', '--json', JSON.stringify({ storagerouter_guid: me }), '--nats', server.url);
  t.is(r.code, 0, r.stderr);
  t.is(json<{ storagerouter_guid: string }>(r).storagerouter_guid, me);

  const typed = await ovs('task', 'storagerouter.mountpoint_exists', '--json', JSON.stringify({ storagerouter_guid: me, name: 'nothing-here' }), '--nats', server.url);
  t.is(typed.code, 0, typed.stderr);
  t.is(json(typed), false);
});

test('task without --json prints human output', async (t) => {
  const r = await ovs('task', 'storagerouter.get_version_info', `storagerouter_guid=${me}`, '--nats', server.url);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, new RegExp(`^storagerouter_guid: ${me}$`, 'm'));
  t.throws(() => {
    JSON.parse(r.stdout);
  });
});

test('errors exit 1 and name the error type', async (t) => {
  const unknown = randomUUID();
  const r = await ovs('task', 'storagerouter.get_version_info', `storagerouter_guid=${unknown}`, '--nats', server.url);
  t.is(r.code, 1);
  t.regex(r.stderr, /OBJECT_NOT_FOUND/);
  t.true(r.stderr.includes(unknown));

  const asJson = await ovs('task', 'storagerouter.get_version_info', `storagerouter_guid=${unknown}`, '--json', '--nats', server.url);
  t.is(asJson.code, 1);
  t.like(json(asJson), { error: { type: 'OBJECT_NOT_FOUND' } });

  const bad = await ovs('task', 'storagerouter.get_version_info', 'storagerouter_guid=../etc', '--nats', server.url);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /VALIDATION_FAILED/);

  const missing = await ovs('task', 'storagerouter.no_such_task', '--nats', server.url);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /UNKNOWN_TASK/);

  const pending = await ovs('task', 'test.not_implemented', '--nats', server.url);
  t.is(pending.code, 1);
  t.regex(pending.stderr, /NOT_IMPLEMENTED/);

  const noServer = await ovs('task', 'storagerouter.get_version_info', `storagerouter_guid=${me}`, '--nats', 'nats://127.0.0.1:1');
  t.is(noServer.code, 1);
  t.regex(noServer.stderr, /error/);
});

test('model list <type> --json', async (t) => {
  const r = await ovs('model', 'list', 'storagerouter', '--json', '--nats', server.url);
  t.is(r.code, 0, r.stderr);
  const srs = json<Array<{ guid: string; name: string }>>(r);
  t.deepEqual(srs.map((s) => s.guid), [me]);

  const filtered = await ovs('model', 'list', 'storagerouter', `name=${srs[0]!.name}`, '--json', '--nats', server.url);
  t.deepEqual(json<Array<{ guid: string }>>(filtered).map((s) => s.guid), [me]);
  const none = await ovs('model', 'list', 'storagerouter', 'name=nobody', '--json', '--nats', server.url);
  t.deepEqual(json(none), []);

  const got = await ovs('model', 'get', 'storagerouter', me, '--json', '--nats', server.url);
  t.is(got.code, 0, got.stderr);
  t.like(json(got), { guid: me, status: 'OK' });

  const badType = await ovs('model', 'list', 'nosuchtype', '--nats', server.url);
  t.is(badType.code, 1);
  t.regex(badType.stderr, /BAD_REQUEST/);
});

test('domain create, assign (regular and --recovery), unassign, delete', async (t) => {
  const n = ['--nats', server.url, '--json'];
  const east = json<{ guid: string }>(await ovs('domain', 'create', 'cli-east', ...n));
  const west = json<{ guid: string }>(await ovs('domain', 'create', 'cli-west', ...n));
  t.like(json(await ovs('domain', 'assign', me, east.guid, ...n)), { backup: false, domain_guid: east.guid });
  t.like(json(await ovs('domain', 'assign', me, west.guid, '--recovery', ...n)), { backup: true, domain_guid: west.guid });
  const refused = await ovs('domain', 'delete', east.guid, ...n);
  t.is(refused.code, 1);
  t.regex(refused.stdout + refused.stderr, /LINKED_OBJECT/);
  for (const d of [east, west]) {
    t.like(json(await ovs('domain', 'unassign', me, d.guid, ...n)), { unassigned: true });
    t.is((await ovs('domain', 'delete', d.guid, ...n)).code, 0);
  }
  t.deepEqual(json<unknown[]>(await ovs('model', 'list', 'storagerouterdomain', `storagerouter_guid=${me}`, ...n)), []);
});

test('config set, get and list', async (t) => {
  const set = await ovs('config', 'set', '/ovs/test/x', '5', '--nats', server.url);
  t.is(set.code, 0, set.stderr);
  const got = await ovs('config', 'get', '/ovs/test/x', '--json', '--nats', server.url);
  t.is(got.code, 0, got.stderr);
  t.deepEqual(json(got), { key: '/ovs/test/x', exists: true, value: 5 });
  t.like(await request(nc, 'ovs.config.get', { key: '/ovs/test/x' }), { value: 5 }, 'the CLI wrote a number, not a string');

  await ovs('config', 'set', '/ovs/test/s', 'hello world', '--nats', server.url);
  t.like(await request(nc, 'ovs.config.get', { key: '/ovs/test/s' }), { value: 'hello world' });

  const list = await ovs('config', 'list', '/ovs/test', '--json', '--nats', server.url);
  t.is(list.code, 0, list.stderr);
  t.deepEqual(json<string[]>(list).filter((k) => k === 's' || k === 'x'), ['s', 'x']);

  const bad = await ovs('config', 'get', '/ovs/../etc', '--nats', server.url);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /BAD_REQUEST/);
});

test('tasks --json lists every declared task and no test task', async (t) => {
  const r = await ovs('tasks', '--json');
  t.is(r.code, 0, r.stderr);
  const rows = json<Array<{ task: string; owner: string; ensure_single: string; status: string }>>(r);
  const declared = [...buildTaskTable().values()];
  t.deepEqual(rows.map((row) => row.task).sort(), declared.map((d) => fullName(d)).sort());
  t.false(rows.some((row) => row.task.startsWith('test.')));
  for (const d of declared) {
    const row = rows.find((x) => x.task === fullName(d))!;
    t.is(row.owner, d.owner.kind);
    t.is(row.ensure_single, d.ensureSingle.mode);
    t.is(row.status, d.handler ? 'available' : `pending: ${d.pending}`);
  }
  t.like(rows.find((x) => x.task === 'vdisk.create_snapshot'), { owner: 'vdisk' });
});

test('--nats with several servers uses every one: a dead server in the list does not matter', async (t) => {
  const dead = 'nats://127.0.0.1:1';
  for (const urls of [`${server.url},${dead}`, `${dead},${server.url}`]) {
    const r = await ovs('model', 'list', 'storagerouter', '--json', '--nats', urls);
    t.is(r.code, 0, r.stderr);
    t.deepEqual(json<Array<{ guid: string }>>(r).map((s) => s.guid), [me]);
    const ls = await ovs('ls', '--json', '--nats', urls);
    t.is(ls.code, 0, ls.stderr);
    t.like(json<unknown[]>(ls)[0], { storagerouter_guid: me, status: 'up' });
  }
  const none = await ovs('ls', '--nats', `${dead},nats://127.0.0.1:2`);
  t.is(none.code, 1);
  t.regex(none.stderr, /CONNECTION_REFUSED/);
});

test('ls shows every node of the model, up or down, and an agent the model does not know', async (t) => {
  const r = await ovs('ls', '--json', '--nats', server.url);
  t.is(r.code, 0, r.stderr);
  t.like(json<unknown[]>(r), [{ storagerouter_guid: me, status: 'up', ready: true, in_model: true }]);

  const model = await modelNodes(nc);
  const ghost = { guid: randomUUID(), name: 'ghost', ip: '192.0.2.9' };
  const rows = await listNodes(nc, [...model, ghost], { waitMs: 300 });
  t.like(rows.find((row) => row.storagerouter_guid === ghost.guid), { status: 'down', in_model: true, ip: ghost.ip, version: null });
  t.like(rows.find((row) => row.storagerouter_guid === me), { status: 'up', in_model: true });

  const unknown = await listNodes(nc, [], { waitMs: 300 });
  t.like(unknown, [{ storagerouter_guid: me, status: 'up', in_model: false, ip: model[0]!.ip }]);
});

test('ls stops waiting once every node of the model has answered', async (t) => {
  const started = Date.now();
  const rows = await listNodes(nc, await modelNodes(nc), { waitMs: 30_000 });
  t.like(rows, [{ storagerouter_guid: me, status: 'up' }]);
  t.true(Date.now() - started < 15_000, `took ${Date.now() - started} ms of a 30 s window`);
});

test('--help and --version answer without a NATS server', async (t) => {
  const help = await ovs('--help');
  t.is(help.code, 0, help.stderr);
  t.regex(help.stdout, /^ {2}ls \[options\]/m);
  const version = await ovs('--version');
  t.is(version.code, 0, version.stderr);
  t.regex(version.stdout.trim(), /^\d+\.\d+\.\d+/);
});

import test from 'ava';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { unpack } from 'msgpackr';
import { headers as natsHeaders, type NatsConnection } from 'nats';
import type { Agent } from '../../src/agent.js';
import { connectClient, request, requestRaw } from '../../src/client.js';
import { OvsError } from '../../src/errors.js';
import { encode } from '../../src/protocol/codec.js';
import { H } from '../../src/protocol/headers.js';
import { fullName } from '../../src/tasks/define.js';
import { buildTaskTable } from '../../src/tasks/table.js';
import { waitFor } from '../helpers/eventually.js';
import { startAgent } from '../helpers/in-process-agent.js';
import { NatsServer } from '../helpers/nats-server.js';

let server: NatsServer;
let agent: Agent;
let nc: NatsConnection;
let me: string;

async function errorType(p: Promise<unknown>): Promise<OvsError> {
  try {
    const r = await p;
    throw new Error(`expected a typed error, got ${JSON.stringify(r)}`);
  } catch (e) {
    if (e instanceof OvsError) return e;
    throw e;
  }
}

test.before(async () => {
  server = await NatsServer.start();
  agent = await startAgent(server.url);
  me = agent.storagerouterGuid;
  nc = await connectClient(server.url);
  // The cluster singleton (where test.* tasks run) is up once this answers.
  await request(nc, 'ovs.task.test.sleep_none', { ms: 0 }, { timeoutMs: 20_000 });
});

test.after.always(async () => {
  await nc?.close();
  await agent?.stop();
  await server?.stop();
});

test('JSON request → JSON reply; msgpack by default; Ovs-Served-By is the agent', async (t) => {
  const subject = 'ovs.task.storagerouter.get_version_info';
  const json = await nc.request(subject, Buffer.from(JSON.stringify({ storagerouter_guid: me })), {
    timeout: 10_000, headers: (() => { const h = natsHeaders(); h.set('Content-Type', 'application/json'); return h; })(),
  });
  const body = JSON.parse(Buffer.from(json.data).toString('utf8')) as { ok: boolean; result: { storagerouter_guid: string } };
  t.true(body.ok);
  t.is(body.result.storagerouter_guid, me);
  t.is(json.headers?.get(H.servedBy), me);

  const mp = await nc.request(subject, encode({ storagerouter_guid: me }), { timeout: 10_000 });
  t.throws(() => {
    JSON.parse(Buffer.from(mp.data).toString('utf8'));
  });
  const first = mp.data[0]!;
  t.true((first & 0xf0) === 0x80 || first === 0xde || first === 0xdf, 'reply is a msgpack map');
  t.deepEqual((unpack(Buffer.from(mp.data)) as { ok: boolean; result: { storagerouter_guid: string } }).result.storagerouter_guid, me);
  t.is(mp.headers, undefined, 'a request without headers gets a reply without headers (they cost the client a tenth of a round trip)');

  const err = await nc.request('ovs.task.no.such_task', Buffer.from('{}'), { timeout: 10_000, headers: (() => { const h = natsHeaders(); h.set('Content-Type', 'application/json'); return h; })() });
  t.like(JSON.parse(Buffer.from(err.data).toString('utf8')), { ok: false, error: { type: 'UNKNOWN_TASK' } });
  t.is(err.headers?.get(H.servedBy), me);
});

test('unknown task → UNKNOWN_TASK; a declared task without handler → NOT_IMPLEMENTED with its reason', async (t) => {
  for (const subject of ['ovs.task.storagerouter.no_such_task', 'ovs.task.nomodule.ping', 'ovs.task.storagerouter', 'ovs.task.a.b.c']) {
    t.is((await errorType(request(nc, subject, {}))).type, 'UNKNOWN_TASK', subject);
  }
  const pending = [...buildTaskTable({ testTasks: true }).values()].filter((d) => !d.handler && d.params.safeParse({}).success);
  t.true(pending.length > 0);
  for (const def of pending) {
    const e = await errorType(request(nc, `ovs.task.${fullName(def)}`, {}));
    t.is(e.type, 'NOT_IMPLEMENTED', fullName(def));
    t.true(e.message.includes(def.pending!), `${fullName(def)}: '${e.message}' lacks '${def.pending}'`);
  }
});

test('async: task id at once, events on ovs.evt.task.<id>, outcome from ovs.task.result', async (t) => {
  const events: Array<{ task_id: string; status: string }> = [];
  const sub = nc.subscribe('ovs.evt.task.>', { callback: (_e, m) => events.push(unpack(Buffer.from(m.data)) as { task_id: string; status: string }) });
  await nc.flush();
  const { body } = await requestRaw(nc, 'ovs.task.test.sleep_none', { ms: 300 }, { headers: { [H.async]: '1' } });
  const repliedAt = Date.now();
  t.true(body.ok);
  const { task_id } = body.result as { task_id: string };
  t.regex(task_id, /^[A-Za-z0-9-]+$/);
  t.false(events.some((e) => e.task_id === task_id && e.status !== 'RUNNING'), 'the reply came before the outcome');

  const rec = await request<{ task_id: string; status: string; result: { task_id: string; finished_at: number; served_by: string } }>(
    nc, 'ovs.task.result', { task_id, wait_ms: 5_000 }, { timeoutMs: 10_000 });
  t.is(rec.status, 'SUCCESS');
  t.is(rec.task_id, task_id);
  t.is(rec.result.task_id, task_id);
  t.is(rec.result.served_by, me);
  t.true(repliedAt < rec.result.finished_at, 'the task was still running when the reply arrived');
  await waitFor('outcome event', () => events.some((e) => e.task_id === task_id && e.status === 'SUCCESS'));
  const mine = events.filter((e) => e.task_id === task_id).map((e) => e.status);
  t.is(mine[0], 'RUNNING');
  t.is(mine.at(-1), 'SUCCESS');
  sub.unsubscribe();

  t.is((await errorType(request(nc, 'ovs.task.result', { task_id: randomUUID() }))).type, 'TASK_NOT_FOUND');
});

test('deadlines: a relative timeout cuts a long task short; a past absolute deadline is refused', async (t) => {
  const timer = new Promise<'timer'>((r) => setTimeout(() => r('timer'), 2_000));
  const reply = errorType(request(nc, 'ovs.task.test.sleep_none', { ms: 3_000 }, { timeoutMs: 10_000, headers: { [H.timeout]: '300' } }));
  const first = await Promise.race([reply, timer]);
  t.not(first, 'timer', 'the DEADLINE_EXCEEDED reply did not come before the 2 s timer');
  t.is((await reply).type, 'DEADLINE_EXCEEDED');

  const past = { [H.deadline]: String(Date.now() - 1_000) };
  t.is((await errorType(request(nc, 'ovs.task.storagerouter.get_version_info', { storagerouter_guid: me }, { headers: past }))).type, 'DEADLINE_EXCEEDED');
  t.is((await errorType(request(nc, 'ovs.task.test.sleep_none', { ms: 0 }, { headers: past }))).type, 'DEADLINE_EXCEEDED');
});

test.serial('storagerouter.ping moves heartbeats.celery forward only', async (t) => {
  const celery = async (): Promise<number> => (await request<{ heartbeats: { celery: number } }>(nc, 'ovs.model.storagerouter.get', { guid: me })).heartbeats.celery;
  const before = await celery();
  const newer = before + 100;
  t.is(await request(nc, 'ovs.task.storagerouter.ping', { storagerouter_guid: me, timestamp: newer }), null);
  t.is(await celery(), newer);
  await request(nc, 'ovs.task.storagerouter.ping', { storagerouter_guid: me, timestamp: newer - 50 });
  t.is(await celery(), newer);
  t.is((agent.services.view.get('storagerouter', me).heartbeats as { celery: number }).celery, newer, 'the agent view agrees');
});

test('storagerouter.get_version_info and get_metadata', async (t) => {
  const v = await request<{ versions: Record<string, string> }>(nc, 'ovs.task.storagerouter.get_version_info', { storagerouter_guid: me });
  t.regex(v.versions.ovs ?? '', /^\d+\.\d+\.\d+/);
  const installed = /v?(\d+\.\d+\.\d+)/.exec(execFileSync('nats-server', ['--version'], { encoding: 'utf8' }))?.[1];
  t.truthy(installed);
  t.true((v.versions['nats-server'] ?? '').startsWith(installed!));

  const m = await request<{ partitions: Record<string, unknown[]>; ipaddresses: string[]; scrub_available: unknown }>(
    nc, 'ovs.task.storagerouter.get_metadata', { storagerouter_guid: me });
  t.deepEqual(Object.keys(m.partitions).sort(), ['BACKEND', 'DB', 'DTL', 'SCRUB', 'WRITE']);
  for (const entries of Object.values(m.partitions)) t.true(Array.isArray(entries));
  t.true(Array.isArray(m.ipaddresses));
  for (const ip of m.ipaddresses) {
    t.regex(ip, /^\d+\.\d+\.\d+\.\d+$/);
    t.false(ip.startsWith('127.'), ip);
  }
  t.is(typeof m.scrub_available, 'boolean');
});

test('storagerouter.mountpoint_exists looks under the mount root only', async (t) => {
  const name = `vp-${randomUUID().slice(0, 8)}`;
  const ask = (n: string): Promise<boolean> => request(nc, 'ovs.task.storagerouter.mountpoint_exists', { name: n, storagerouter_guid: me });
  t.false(await ask(name));
  await mkdir(join(agent.opts.dataDir, name));
  t.true(await ask(name));
  t.false(await ask(`${name}-other`));
  t.false(await ask('identity.json'), 'a file is not a mount point');
});

interface LsblkDev { kname: string; type: string; 'maj:min': string; children?: LsblkDev[] }

test.serial('disk.sync_with_reality mirrors lsblk and is idempotent', async (t) => {
  const flat: LsblkDev[] = [];
  const walk = (ds: LsblkDev[]): void => ds.forEach((d) => { flat.push(d); walk(d.children ?? []); });
  walk((JSON.parse(execFileSync('lsblk', ['-J', '-o', 'KNAME,TYPE,MAJ:MIN'], { encoding: 'utf8' })) as { blockdevices: LsblkDev[] }).blockdevices);
  const excluded = new Set(['1', '2', '11', '43']);
  const expected = flat.filter((d) => d.type !== 'part' && d.type !== 'rom' && !excluded.has(d['maj:min'].split(':')[0]!.trim())).map((d) => d.kname).sort();
  t.true(expected.length > 0);

  const first = await request<{ disks: number; changes: number }>(nc, 'ovs.task.disk.sync_with_reality', { storagerouter_guid: me });
  t.is(first.disks, expected.length);
  t.true(first.changes >= expected.length, 'the first sync creates the disks');
  const disks = await request<Array<{ name: string; storagerouter_guid: string; state: string; size: number }>>(nc, 'ovs.model.disk.list', { filter: { storagerouter_guid: me } });
  t.deepEqual(disks.map((d) => d.name).sort(), expected);
  for (const d of disks) {
    t.true(['OK', 'FAILURE', 'MISSING'].includes(d.state));
    t.true(Number.isSafeInteger(d.size));
  }
  const model = async (): Promise<unknown> => ({
    disks: (await request<unknown[]>(nc, 'ovs.model.disk.list', {})),
    partitions: (await request<unknown[]>(nc, 'ovs.model.diskpartition.list', {})),
  });
  const before = await model();
  const second = await request<{ disks: number; changes: number }>(nc, 'ovs.task.disk.sync_with_reality', { storagerouter_guid: me });
  t.is(second.changes, 0);
  t.is(second.disks, expected.length);
  t.deepEqual(await model(), before);
});

test('async tasks publish progress on ovs.evt.task.<id> before their outcome', async (t) => {
  const nc2 = await connectClient(server.url);
  const events: Array<{ task_id: string; status: string; progress?: number }> = [];
  const sub = nc2.subscribe('ovs.evt.task.>', { callback: (_e, m) => events.push(unpack(Buffer.from(m.data)) as never) });
  const { task_id } = await request<{ task_id: string }>(nc2, 'ovs.task.disk.sync_with_reality', { storagerouter_guid: me }, { headers: { 'Ovs-Async': '1' } });
  const rec = await request<{ status: string }>(nc2, 'ovs.task.result', { task_id, wait_ms: 20_000 }, { timeoutMs: 25_000 });
  t.is(rec.status, 'SUCCESS');
  await nc2.flush();
  const mine = events.filter((e) => e.task_id === task_id);
  t.true(mine.some((e) => e.progress !== undefined), 'progress was published');
  t.is(mine[mine.length - 1]!.status, 'SUCCESS', 'the outcome comes last');
  sub.unsubscribe();
  await nc2.close();
});

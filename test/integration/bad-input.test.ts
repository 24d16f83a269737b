import test from 'ava';
import { randomUUID } from 'node:crypto';
import type { NatsConnection } from 'nats';
import { z } from 'zod';
import type { Agent } from '../../src/agent.js';
import { connectClient, request, requestRaw } from '../../src/client.js';
import type { WireError } from '../../src/errors.js';
import { encode } from '../../src/protocol/codec.js';
import { fullName, type TaskDef } from '../../src/tasks/define.js';
import { buildTaskTable } from '../../src/tasks/table.js';
import { startAgent } from '../helpers/in-process-agent.js';
import { NatsServer } from '../helpers/nats-server.js';

const MAX_PAYLOAD = 2 * 1024 * 1024;
const AGENT_LIMIT = 512 * 1024;
const table = buildTaskTable({ testTasks: true });
const tasks = [...table.values()];

let server: NatsServer;
let agent: Agent;
let nc: NatsConnection;
let me: string;
let modelBefore: Record<string, string[]>;

/** What must not change: identities of the model objects (heartbeats move on their own, so they are left out). */
async function modelSnapshot(): Promise<Record<string, string[]>> {
  const list = (type: string): Promise<Array<Record<string, unknown>>> => request(nc, `ovs.model.${type}.list`, {});
  const fmt = (objs: Array<Record<string, unknown>>, keys: string[]): string[] => objs.map((o) => keys.map((k) => JSON.stringify(o[k])).join('|')).sort();
  return {
    storagerouter: fmt(await list('storagerouter'), ['guid', 'name', 'ip', 'machine_id']),
    disk: fmt(await list('disk'), ['guid', 'name', 'storagerouter_guid', 'size']),
    diskpartition: fmt(await list('diskpartition'), ['guid', 'disk_guid', 'offset', 'size', 'roles']),
  };
}

/** Sends raw bytes and returns the error of the reply (fails the test when the reply is a success). */
async function errorOf(subject: string, body: Uint8Array, encoding: 'json' | 'msgpack' = 'msgpack'): Promise<WireError> {
  const { body: reply } = await requestRaw(nc, subject, body, { encoding, timeoutMs: 10_000 });
  if (reply.ok) throw new Error(`${subject} answered ok: ${JSON.stringify(reply.result)}`);
  return reply.error!;
}

/** A value of the schema's type (only the shapes the implemented tasks use), so one parameter can be varied. */
function sample(schema: z.ZodType): { value?: unknown } {
  const def = (schema as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
  switch (def.type) {
    case 'string': return { value: randomUUID() };
    case 'number': return { value: 1 };
    case 'boolean': return { value: false };
    case 'array': return { value: [] };
    case 'record': return { value: {} };
    case 'optional': case 'default': return {};
    case 'nullable': return { value: null };
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, s] of Object.entries((schema as z.ZodObject).shape)) {
        const v = sample(s as z.ZodType);
        if ('value' in v) out[k] = v.value;
      }
      return { value: out };
    }
    default: throw new Error(`no sample for a zod ${def.type}`);
  }
}

/** For each declared parameter a value of the wrong type; a map of one unknown key when there are none. */
function wrongTyped(def: TaskDef): Record<string, unknown> {
  const shape = (def.params as z.ZodObject).shape as Record<string, z.ZodType>;
  const candidates: unknown[] = [{ wrong: true }, 'wrong', 12345, [1], true];
  const out: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(shape)) out[k] = candidates.find((c) => !s.safeParse(c).success);
  return Object.keys(out).length > 0 ? out : { no_such_parameter: 1 };
}

test.before(async () => {
  server = await NatsServer.start({ maxPayload: MAX_PAYLOAD });
  agent = await startAgent(server.url);
  me = agent.storagerouterGuid;
  nc = await connectClient(server.url);
  // Give the model disks and partitions, so "unchanged" covers more than the StorageRouter.
  await request(nc, 'ovs.task.disk.sync_with_reality', { storagerouter_guid: me });
  modelBefore = await modelSnapshot();
});

test.after.always(async () => {
  await nc?.close();
  await agent?.stop();
  await server?.stop();
});

test.serial('the table has tasks of every kind, and the model has disks to protect', (t) => {
  t.true(tasks.length > 50);
  t.true(tasks.some((d) => d.handler) && tasks.some((d) => !d.handler));
  t.true(modelBefore.disk!.length > 0, 'disk.sync_with_reality found no disks on this machine');
});

test.serial('(a) malformed msgpack at every task subject → BAD_REQUEST', async (t) => {
  for (const def of tasks) {
    const e = await errorOf(`ovs.task.${fullName(def)}`, Uint8Array.of(0xc1, 0xc1, 0xc1));
    t.is(e.type, 'BAD_REQUEST', `${fullName(def)}: ${e.message}`);
  }
});

test.serial('(b) msgpack of a non-map at every task subject → BAD_REQUEST', async (t) => {
  for (const def of tasks) {
    for (const value of [[1, 2, 3], 'text', 42, null]) {
      const e = await errorOf(`ovs.task.${fullName(def)}`, encode(value));
      t.is(e.type, 'BAD_REQUEST', `${fullName(def)} with ${JSON.stringify(value)}: ${e.message}`);
    }
  }
});

test.serial('(c) JSON that is not a map at every task subject → BAD_REQUEST, answered in JSON', async (t) => {
  for (const def of tasks) {
    for (const text of ['[1,2,3]', '"text"', 'null', '{"unterminated":']) {
      const e = await errorOf(`ovs.task.${fullName(def)}`, Buffer.from(text), 'json');
      t.is(e.type, 'BAD_REQUEST', `${fullName(def)} with ${text}: ${e.message}`);
    }
  }
});

test.serial('(d) every declared parameter wrong-typed → VALIDATION_FAILED naming each parameter (pending tasks: NOT_IMPLEMENTED first)', async (t) => {
  for (const def of tasks) {
    const params = wrongTyped(def);
    for (const [k, v] of Object.entries(params)) t.not(v, undefined, `${fullName(def)}.${k}: no wrong-typed value found`);
    if (!def.handler) {
      // A pending task answers NOT_IMPLEMENTED before validation (the invocation order); its schema still refuses.
      t.false(def.params.safeParse(params).success, `${fullName(def)}: the schema accepts wrong types`);
      t.is((await errorOf(`ovs.task.${fullName(def)}`, encode(params))).type, 'NOT_IMPLEMENTED', fullName(def));
      continue;
    }
    for (const encoding of ['msgpack', 'json'] as const) {
      const e = await errorOf(`ovs.task.${fullName(def)}`, encode(params, encoding), encoding);
      t.is(e.type, 'VALIDATION_FAILED', `${fullName(def)} (${encoding}): ${e.message}`);
      const paths = ((e.details.issues ?? []) as Array<{ path: string }>).map((i) => i.path.split('.')[0]);
      for (const k of Object.keys(params)) {
        if (k !== 'no_such_parameter') t.true(paths.includes(k), `${fullName(def)}: no issue for ${k} in ${JSON.stringify(e.details)}`);
      }
    }
  }
});

test.serial('(e) an unknown StorageRouter or vPool guid → OBJECT_NOT_FOUND for every implemented task owned by one', async (t) => {
  const owned = tasks.filter((d) => d.handler && (d.owner.kind === 'node' || d.owner.kind === 'vpool'));
  t.true(owned.length >= 6, `only ${owned.length} tasks`);
  for (const def of owned) {
    const params = sample(def.params).value as Record<string, unknown>;
    const ownerParam = (def.owner as { param: string }).param;
    params[ownerParam] = randomUUID();
    if (fullName(def) === 'storagerouter.mountpoint_exists') params.name = 'vpool1';
    if (fullName(def) === 'storagerouter.create_hprm_config_files') params.parameters = { port: 8123, identifier: 'hprm1', block: { read: true, write: false, path: '/var/cache/hprm', size: 1 } };
    t.true(def.params.safeParse(params).success, `${fullName(def)}: sampled parameters ${JSON.stringify(params)} are not valid`);
    const e = await errorOf(`ovs.task.${fullName(def)}`, encode(params));
    t.is(e.type, 'OBJECT_NOT_FOUND', `${fullName(def)}: ${e.message}`);
    t.is(e.details.guid, params[ownerParam]);
    t.is(e.details.object_type, def.owner.kind === 'node' ? 'storagerouter' : 'vpool');
  }
});

test.serial('(f) names with /, .. or NUL for storagerouter.mountpoint_exists → VALIDATION_FAILED', async (t) => {
  const subject = 'ovs.task.storagerouter.mountpoint_exists';
  t.false(await request(nc, subject, { name: 'fine-name', storagerouter_guid: me }), 'a plain name is accepted');
  for (const name of ['a/b', '/etc', '..', '../etc', 'x/../..', '.', 'a\u0000b', '\u0000', 'a\\b', '']) {
    for (const encoding of ['msgpack', 'json'] as const) {
      const e = await errorOf(subject, encode({ name, storagerouter_guid: me }, encoding), encoding);
      t.is(e.type, 'VALIDATION_FAILED', `${JSON.stringify(name)} (${encoding}): ${e.message}`);
    }
  }
});

test.serial('(g) a body over the agent limit but under max_payload → PAYLOAD_TOO_LARGE on every entry point', async (t) => {
  const body = encode({ storagerouter_guid: me, pad: 'x'.repeat(600 * 1024) });
  t.true(body.length > AGENT_LIMIT && body.length < MAX_PAYLOAD);
  for (const subject of ['ovs.task.storagerouter.get_version_info', 'ovs.task.no.such_task', 'ovs.task.result', 'ovs.model.storagerouter.list', 'ovs.config.get']) {
    const e = await errorOf(subject, body);
    t.is(e.type, 'PAYLOAD_TOO_LARGE', `${subject}: ${e.message}`);
    t.is(e.details.size, body.length);
    t.is(e.details.limit, AGENT_LIMIT);
  }
  // Just under the limit is decoded (and then refused for its unknown key, not for its size).
  const under = encode({ storagerouter_guid: me, pad: 'x'.repeat(AGENT_LIMIT - 1024) });
  t.is((await errorOf('ovs.task.storagerouter.get_version_info', under)).type, 'VALIDATION_FAILED');
});

test.serial('(h) a body over the server max_payload fails at the client; the agent still answers', async (t) => {
  t.is(nc.info?.max_payload, MAX_PAYLOAD);
  const body = new Uint8Array(MAX_PAYLOAD + 1024).fill(0x61);
  const err = await t.throwsAsync(async () => requestRaw(nc, 'ovs.task.storagerouter.get_version_info', body, { timeoutMs: 2_000 }));
  t.is((err as { code?: string }).code, 'MAX_PAYLOAD_EXCEEDED');
  t.false(nc.isClosed());
  const r = await request<{ storagerouter_guid: string }>(nc, 'ovs.task.storagerouter.get_version_info', { storagerouter_guid: me });
  t.is(r.storagerouter_guid, me);
});

test.serial('after all of it: the agent still answers every kind of request and the model is unchanged', async (t) => {
  const r = await request<{ storagerouter_guid: string }>(nc, 'ovs.task.storagerouter.get_version_info', { storagerouter_guid: me });
  t.is(r.storagerouter_guid, me);
  const slept = await request<{ served_by: string }>(nc, 'ovs.task.test.sleep_none', { ms: 1 });
  t.is(slept.served_by, me);
  const sr = await request<{ guid: string; status: string }>(nc, 'ovs.model.storagerouter.get', { guid: me });
  t.is(sr.guid, me);
  t.deepEqual(await modelSnapshot(), modelBefore);
});

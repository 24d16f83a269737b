import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { NatsConnection } from 'nats';
import type { Agent } from '../../src/agent.js';
import { connectClient, request, requestRaw } from '../../src/client.js';
import type { OvsError } from '../../src/errors.js';
import { H } from '../../src/protocol/headers.js';
import { startAgent } from '../helpers/in-process-agent.js';
import { NatsServer } from '../helpers/nats-server.js';

/** Idempotent retries of real mutations on a vPool with a local backend: vDisk creation and snapshots. */
let ns: NatsServer;
let agent: Agent;
let nc: NatsConnection;
let sdGuid: string;
let dir: string;
const MiB = 1024 * 1024;
const call = <T = unknown>(task: string, params: Record<string, unknown>, idempotencyKey?: string): Promise<T> =>
  request<T>(nc, `ovs.task.${task}`, params, { timeoutMs: 60_000, idempotencyKey });

test.before(async () => {
  ns = await NatsServer.start();
  dir = await mkdtemp(join(tmpdir(), 'ovs-idem-vd-'));
  agent = await startAgent(ns.url, { dataDir: join(dir, 'agent') });
  nc = await connectClient(ns.url);
  const sr = agent.services.view.get('storagerouter', agent.storagerouterGuid);
  const base = 30_000 + Math.floor(Math.random() * 300) * 100;
  await agent.services.config.set(`/ovs/framework/hosts/${agent.services.machineId}/ports`, { storagedriver: [[base, base + 99]] });
  const r = await call<{ storagedriver_guid: string }>('storagerouter.add_vpool', { parameters: { vpool_name: 'pool1', storagerouter_ip: sr.ip, backend_info: { type: 'local', path: join(dir, 'backend') } } });
  sdGuid = r.storagedriver_guid;
});

test.after.always(async () => {
  await nc?.close();
  await agent?.stop();
  await ns?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test.serial('vdisk.create_new retried with its key answers the first vDisk; without a key the retry is NAME_IN_USE', async (t) => {
  const params = { volume_name: 'idem1', volume_size: 4 * MiB, storagedriver_guid: sdGuid };
  const first = await call<string>('vdisk.create_new', params, 'create-idem1');
  t.is(await call<string>('vdisk.create_new', params, 'create-idem1'), first);
  const plain = await call('vdisk.create_new', params).then(() => undefined, (e: OvsError) => e);
  t.is(plain?.type, 'NAME_IN_USE');
  const vdisks = await request<Array<{ name: string }>>(nc, 'ovs.model.vdisk.list', {});
  t.is(vdisks.filter((v) => v.name === 'idem1').length, 1);
});

test.serial('vdisk.create_snapshot retried with its key: one snapshot, the same id, marked replayed', async (t) => {
  const vd = await call<string>('vdisk.create_new', { volume_name: 'idem2', volume_size: 4 * MiB, storagedriver_guid: sdGuid });
  const params = { vdisk_guid: vd, metadata: { label: 'nightly', timestamp: '1700000000', is_consistent: true, is_automatic: false, is_sticky: false } };
  const first = await requestRaw(nc, 'ovs.task.vdisk.create_snapshot', params, { idempotencyKey: 'snap-nightly-1700000000' });
  const again = await requestRaw(nc, 'ovs.task.vdisk.create_snapshot', params, { idempotencyKey: 'snap-nightly-1700000000' });
  t.true(first.body.ok, JSON.stringify(first.body));
  t.deepEqual(again.body, first.body);
  t.is(again.headers?.get(H.idempotentReplay), '1');
  const { snapshots } = await request<{ snapshots: Array<{ guid: string }> }>(nc, 'ovs.model.vdisk.get', { guid: vd });
  t.deepEqual(snapshots.map((s) => s.guid), [first.body.result]);
});

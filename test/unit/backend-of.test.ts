import test from 'ava';
import type { JetStreamClient } from 'nats';
import { LocalDirBackend } from '../../src/dataplane/backend/local-dir.js';
import { NatsObjectBackend } from '../../src/dataplane/backend/nats-object.js';
import { VpoolError } from '../../src/errors.js';
import type { ModelObject } from '../../src/model/schema.js';
import { backendInfoOf, backendOf } from '../../src/storagedriver/backend-of.js';
import { addVpoolParameters } from '../../src/tasks/storagerouter/add-vpool.js';

const GUID = '4f1c2a9e-8d7b-4c3a-9e21-0a5b6c7d8e9f';
const vpool = (backend_info: Record<string, unknown>): ModelObject => ({ guid: GUID, name: 'pool1', metadata: { backend: { backend_info } } });
// The NATS backend opens its buckets on first use: constructing it needs no connection.
const js = {} as JetStreamClient;

test('backendOf: a local vPool gets its directory, a nats vPool its bucket (by default one named after the vPool)', (t) => {
  const local = backendOf(vpool({ type: 'local', path: '/srv/backend' }), js, { replicas: 1 });
  t.true(local instanceof LocalDirBackend);
  t.is((local as LocalDirBackend).root, '/srv/backend');
  const named = backendOf(vpool({ type: 'nats', bucket: 'shared_bk' }), js, { replicas: 3 });
  t.true(named instanceof NatsObjectBackend);
  t.deepEqual((named as NatsObjectBackend).o, { bucket: 'shared_bk', replicas: 3 });
  t.deepEqual(backendInfoOf(vpool({ type: 'nats' })), { type: 'nats', bucket: `ovs_backend_${GUID}` });
  t.deepEqual(backendInfoOf(vpool({ path: '/old' })), { type: 'local', path: '/old' }, 'vPools stored before backends had a type are local');
});

test('backendOf: a vPool without a usable backend is a VpoolError', (t) => {
  for (const info of [{}, { type: 'local' }, { type: 'nats', bucket: 'a.b' }, { type: 'alba', path: '/x' }]) {
    t.throws(() => backendOf(vpool(info), js, { replicas: 1 }), { instanceOf: VpoolError }, JSON.stringify(info));
  }
});

test('add_vpool accepts a nats backend_info, with or without a bucket, and refuses bad buckets and unknown keys', (t) => {
  const base = { vpool_name: 'pool1', storagerouter_ip: '10.0.0.1' };
  t.true(addVpoolParameters.safeParse({ ...base, backend_info: { type: 'nats' } }).success);
  t.true(addVpoolParameters.safeParse({ ...base, backend_info: { type: 'nats', bucket: 'pool1_bk-2' } }).success);
  for (const backend_info of [{ type: 'nats', bucket: 'a.b' }, { type: 'nats', bucket: '' }, { type: 'nats', bucket: 'x'.repeat(65) }, { type: 'nats', path: '/x' }]) {
    t.false(addVpoolParameters.safeParse({ ...base, backend_info }).success, JSON.stringify(backend_info));
  }
});

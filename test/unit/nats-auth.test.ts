import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { resolveConnection } from '../../src/cli/connection-flags.js';
import { loadAgentConfig } from '../../src/config/agent-config.js';
import { checkNatsAuth, natsConnectOptions, type NatsAuth } from '../../src/config/nats-auth.js';
import { loadNatsContext } from '../../src/config/nats-context.js';
import { NatsConnectionConfigError, PermissionDeniedError, fromNatsError } from '../../src/errors.js';
import { NATS_ROLES_CONF } from '../../src/security/nats-roles.js';

let dir: string;
let file: string;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ovs-auth-'));
  file = join(dir, 'exists.pem');
  await writeFile(file, 'x');
});

/** Each row: options that cannot work, and the option the error must name. */
const REFUSED: [string, () => NatsAuth, string][] = [
  ['user and token', () => ({ user: 'u', password: 'p', token: 't' }), 'token'],
  ['password without user', () => ({ password: 'p' }), 'password'],
  ['user without password', () => ({ user: 'u' }), 'user'],
  ['certificate without key', () => ({ tls: { certFile: file } }), 'tls.certFile'],
  ['key without certificate', () => ({ tls: { keyFile: file } }), 'tls.keyFile'],
  ['missing CA file', () => ({ tls: { caFile: join(dir, 'nope.pem') } }), 'tls.caFile'],
  ['missing creds file', () => ({ credsFile: join(dir, 'nope.creds') }), 'credsFile'],
  ['nkey and creds', () => ({ nkeySeedFile: file, credsFile: file }), 'credsFile'],
];

for (const [name, auth, option] of REFUSED) {
  test(`refused before connecting: ${name}`, (t) => {
    const e = t.throws(() => checkNatsAuth(auth()), { instanceOf: NatsConnectionConfigError });
    t.is(e?.type, 'NATS_CONNECTION_CONFIG');
    t.is(e?.details.option, option);
  });
}

test('accepted: each auth mode, TLS with client certificate; options are the nats client own', (t) => {
  t.deepEqual(natsConnectOptions({ user: 'u', password: 'p', tls: { caFile: file } }), { user: 'u', pass: 'p', tls: { caFile: file } });
  t.deepEqual(natsConnectOptions({ token: 't' }), { token: 't' });
  t.is(typeof natsConnectOptions({ tls: { certFile: file, keyFile: file } }).tls, 'object');
  t.deepEqual(natsConnectOptions({}), {});
});

test('a context file fills url and credentials; flags replace its credentials and name themselves in errors', async (t) => {
  const ctx = join(dir, 'context.json');
  await writeFile(ctx, JSON.stringify({ url: 'nats://127.0.0.1:4999', user: 'reader', password: 'pw', ca: 'exists.pem' }));
  t.deepEqual(loadNatsContext(ctx), { url: 'nats://127.0.0.1:4999', auth: { user: 'reader', password: 'pw', tls: { caFile: file } } });
  const fromCtx = resolveConnection(undefined, { context: ctx });
  t.is(fromCtx.urls, 'nats://127.0.0.1:4999');
  t.is(resolveConnection('nats://h:1', { context: ctx }).urls, 'nats://h:1');
  const withToken = resolveConnection(undefined, { context: ctx, token: 'tok' });
  t.deepEqual(withToken.auth, { token: 'tok', tls: { caFile: file } });
  const bad = resolveConnection(undefined, { tlsCert: file });
  const e = t.throws(() => checkNatsAuth(bad.auth, bad.names), { instanceOf: NatsConnectionConfigError });
  t.is(e?.details.option, '--tls-cert');
  t.throws(() => loadNatsContext(join(dir, 'missing.json')), { instanceOf: NatsConnectionConfigError });
});

test('agent configuration: natsAuth is validated at load, naming the key', async (t) => {
  const cfg = join(dir, 'agent.json');
  await writeFile(cfg, JSON.stringify({ natsAuth: { user: 'agent', password: 'pw', token: 't' } }));
  const e = await t.throwsAsync(loadAgentConfig({ config: cfg }), { instanceOf: NatsConnectionConfigError });
  t.is(e?.details.option, 'natsAuth.token');
  await writeFile(cfg, JSON.stringify({ natsAuth: { token: 't', tls: { caFile: file } } }));
  t.deepEqual((await loadAgentConfig({ config: cfg })).natsAuth, { token: 't', tls: { caFile: file } });
  // A flag replaces the file's auth mode instead of clashing with it.
  t.deepEqual((await loadAgentConfig({ config: cfg, user: 'agent', password: 'pw' })).natsAuth, { user: 'agent', password: 'pw', tls: { caFile: file } });
});

test("nats.js permission violations become PERMISSION_DENIED; other errors pass through", (t) => {
  const e = fromNatsError({ code: 'PERMISSIONS_VIOLATION', permissionContext: { operation: 'publish', subject: 'ovs.task.vdisk.delete' } });
  t.true(e instanceof PermissionDeniedError);
  t.deepEqual((e as PermissionDeniedError).details, { subject: 'ovs.task.vdisk.delete', operation: 'publish' });
  const other = new Error('x');
  t.is(fromNatsError(other), other);
});

test('the roles shipped in config/ are the ones `ovs up --secure` writes', async (t) => {
  t.is(await readFile(new URL('../../../config/nats-roles.example.conf', import.meta.url), 'utf8'), NATS_ROLES_CONF);
});

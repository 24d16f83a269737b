import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { nkeys } from 'nats';
import { ensureLocalTlsMaterial, issueClientCertificate, type TlsMaterial } from '../../src/security/tls-material.js';
import { AgentProcess } from '../helpers/agent-process.js';
import { ConfiguredNatsServer } from '../helpers/configured-nats-server.js';
import { errorType, ovsCli as ovs } from '../helpers/ovs-cli.js';

const ROLES = fileURLToPath(new URL('../../../config/nats-roles.example.conf', import.meta.url));
const PASSWORDS = { OVS_AGENT_PASSWORD: 'agent-pw', OVS_OPERATOR_PASSWORD: 'operator-pw', OVS_READER_PASSWORD: 'reader-pw' };

let dir: string;
let tls: TlsMaterial;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ovs-auth-it-'));
  tls = await ensureLocalTlsMaterial(join(dir, 'tls'));
});

test.after.always(async () => {
  await rm(dir, { recursive: true, force: true });
});

const tlsBlock = (): string => `tls { cert_file: ${JSON.stringify(tls.certFile)}, key_file: ${JSON.stringify(tls.keyFile)} }\n`;

test.serial('roles over TLS with passwords: the operator lists, the reader reads but its vdisk.delete and config set are PERMISSION_DENIED', async (t) => {
  const ns = await ConfiguredNatsServer.start(tlsBlock() + (await readFile(ROLES, 'utf8')), PASSWORDS);
  // A teardown, not the finally: an agent that fails to start must not leave its nats-server running.
  t.teardown(() => ns.stop());
  const agent = await AgentProcess.start({ natsUrl: ns.url, name: 'auth1', ip: '127.0.0.1', extraArgs: ['--user', 'agent', '--password', PASSWORDS.OVS_AGENT_PASSWORD, '--tls-ca', tls.caFile] });
  try {
    const ls = await ovs(['ls', '--json', '--nats', ns.url, '--user', 'operator', '--password', PASSWORDS.OVS_OPERATOR_PASSWORD, '--tls-ca', tls.caFile]);
    t.is(ls.code, 0, ls.stderr);
    t.is((JSON.parse(ls.stdout) as { storagerouter_guid: string }[])[0]?.storagerouter_guid, agent.guid);

    const reader = join(dir, 'reader.json');
    await writeFile(reader, JSON.stringify({ url: ns.url, user: 'reader', password: PASSWORDS.OVS_READER_PASSWORD, ca: tls.caFile }));
    const read = await ovs(['model', 'list', 'storagerouter', '--json', '--context', reader]);
    t.is(read.code, 0, read.stderr);
    const del = await ovs(['task', 'vdisk.delete', 'vdisk_guid=00000000-0000-0000-0000-000000000000', '--json'], { OVS_CONTEXT: reader });
    t.is(del.code, 1);
    t.is(errorType(del), 'PERMISSION_DENIED');
    const set = await ovs(['config', 'set', '/ovs/framework/x', '1', '--json', '--context', reader]);
    t.is(errorType(set), 'PERMISSION_DENIED');
    t.is(errorType(await ovs(['info', agent.guid, '--json', '--context', reader])), 'PERMISSION_DENIED');

    const anonymous = await ovs(['ls', '--json', '--nats', ns.url, '--tls-ca', tls.caFile]);
    t.is(errorType(anonymous), 'AUTHENTICATION_FAILED');
  } finally {
    await agent.stop();
  }
});

test.serial('token over TLS: agent and CLI', async (t) => {
  const ns = await ConfiguredNatsServer.start(tlsBlock() + 'authorization { token: "s3cret-token" }');
  t.teardown(() => ns.stop());
  const agent = await AgentProcess.start({ natsUrl: ns.url, name: 'auth2', ip: '127.0.0.1', extraArgs: ['--token', 's3cret-token', '--tls-ca', tls.caFile] });
  try {
    const ls = await ovs(['ls', '--json', '--nats', ns.url, '--tls-ca', tls.caFile], { OVS_NATS_TOKEN: 's3cret-token' });
    t.is(ls.code, 0, ls.stderr);
    t.is((JSON.parse(ls.stdout) as { storagerouter_guid: string }[])[0]?.storagerouter_guid, agent.guid);
    t.is(errorType(await ovs(['ls', '--json', '--nats', ns.url, '--tls-ca', tls.caFile, '--token', 'wrong'])), 'AUTHENTICATION_FAILED');
  } finally {
    await agent.stop();
  }
});

test.serial('nkey with a client certificate (the server verifies clients): agent and CLI; without the certificate refused', async (t) => {
  // The nats package re-exports nkeys.js without types that lint can follow.
  const user = (nkeys as unknown as { createUser(): { getSeed(): Uint8Array; getPublicKey(): string } }).createUser();
  const seed = join(dir, 'user.nk');
  await writeFile(seed, new TextDecoder().decode(user.getSeed()), { mode: 0o600 });
  const client = await issueClientCertificate(join(dir, 'tls'), 'client1');
  const verify = `tls { cert_file: ${JSON.stringify(tls.certFile)}, key_file: ${JSON.stringify(tls.keyFile)}, ca_file: ${JSON.stringify(tls.caFile)}, verify: true }\n`;
  const ns = await ConfiguredNatsServer.start(verify + `authorization { users: [{ nkey: ${user.getPublicKey()} }] }`);
  t.teardown(() => ns.stop());
  const certArgs = ['--nkey', seed, '--tls-ca', tls.caFile, '--tls-cert', client.certFile, '--tls-key', client.keyFile];
  const agent = await AgentProcess.start({ natsUrl: ns.url, name: 'auth3', ip: '127.0.0.1', extraArgs: certArgs });
  try {
    const ls = await ovs(['ls', '--json', '--nats', ns.url, ...certArgs]);
    t.is(ls.code, 0, ls.stderr);
    t.is((JSON.parse(ls.stdout) as { storagerouter_guid: string }[])[0]?.storagerouter_guid, agent.guid);
    t.is((await ovs(['ls', '--json', '--nats', ns.url, '--nkey', seed, '--tls-ca', tls.caFile])).code, 1);
  } finally {
    await agent.stop();
  }
});

test.serial('a bad combination is refused before connecting, naming the option', async (t) => {
  const r = await ovs(['ls', '--json', '--nats', 'nats://127.0.0.1:1', '--tls-cert', tls.certFile]);
  t.is(errorType(r), 'NATS_CONNECTION_CONFIG');
  t.regex(r.stdout, /--tls-cert/);
});

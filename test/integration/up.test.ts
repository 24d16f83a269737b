import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { connectClient, request } from '../../src/client.js';
import { waitFor } from '../helpers/eventually.js';
import { errorType, ovsCli } from '../helpers/ovs-cli.js';

const BIN = new URL('../../src/bin/ovs.js', import.meta.url).pathname;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface Up { child: ChildProcess; info: { nats_url: string; http_url: string; storagerouter_guid: string }; stderr: () => string }

async function up(dataDir: string, natsPort: number, httpPort: number, extraArgs: string[] = []): Promise<Up> {
  const child = spawn(process.execPath, [BIN, 'up', '--data-dir', dataDir, '--nats-port', String(natsPort), '--http-port', String(httpPort), ...extraArgs], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  const info = await waitFor('ovs-up.json', async () => {
    // A start that failed (a port another test took meanwhile) says why instead of timing out.
    if (child.exitCode !== null) throw new Error(`ovs up exited ${child.exitCode}: ${stderr}`);
    return JSON.parse(await readFile(join(dataDir, 'ovs-up.json'), 'utf8').catch(() => 'null')) as Up['info'] | null;
  }, 60_000, 100).catch((e: unknown) => {
    child.kill('SIGKILL');
    throw new Error(`${(e as Error).message}\n${stderr}`);
  });
  return { child, info, stderr: () => stderr };
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((r) => child.once('exit', (code) => r(code)));
}

test.serial('ovs up: ready file, SIGTERM stops agent then nats-server, a restart on the same dir is the same node with its state', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'ovs-up-'));
  const [natsPort, httpPort] = [await freePort(), await freePort()];
  const first = await up(dataDir, natsPort, httpPort);
  t.is(first.info.nats_url, `nats://127.0.0.1:${natsPort}`);
  t.is(first.info.http_url, `http://127.0.0.1:${httpPort}`);
  t.is(await fetch(`${first.info.http_url}/readyz`).then((r) => r.status), 200);
  const nc = await connectClient(first.info.nats_url);
  await request(nc, 'ovs.config.set', { key: '/ovs/test/survives', value: { n: 1 } });
  const sr = await request<{ guid: string }[]>(nc, 'ovs.model.storagerouter.list', {});
  t.deepEqual(sr.map((s) => s.guid), [first.info.storagerouter_guid]);
  await nc.close();

  first.child.kill('SIGTERM');
  t.is(await exitOf(first.child), 0);
  // nats-server went down with it: nothing listens on its port any more.
  await t.throwsAsync(connectClient(first.info.nats_url));

  const second = await up(dataDir, natsPort, httpPort);
  t.is(second.info.storagerouter_guid, first.info.storagerouter_guid);
  const nc2 = await connectClient(second.info.nats_url);
  t.deepEqual((await request<{ value: unknown }>(nc2, 'ovs.config.get', { key: '/ovs/test/survives' })).value, { n: 1 });
  t.is((await request<unknown[]>(nc2, 'ovs.model.storagerouter.list', {})).length, 1);
  await nc2.close();
  second.child.kill('SIGINT');
  t.is(await exitOf(second.child), 0);
  await rm(dataDir, { recursive: true, force: true });
});

test.serial('ovs up supervises its nats-server: after kill -9 it starts again on the same store, the agent reconnects, /readyz follows', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'ovs-up-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const [natsPort, httpPort] = [await freePort(), await freePort()];
  const u = await up(dataDir, natsPort, httpPort);
  t.teardown(async () => {
    u.child.kill('SIGTERM');
    await exitOf(u.child);
  });
  const nc = await connectClient(u.info.nats_url);
  t.teardown(() => nc.close());
  await request(nc, 'ovs.config.set', { key: '/ovs/test/kept', value: 7 });
  const { nats_pid } = JSON.parse(await readFile(join(dataDir, 'ovs-up.json'), 'utf8')) as { nats_pid: number };
  process.kill(nats_pid, 'SIGKILL');
  const readyz = (): Promise<number> => fetch(`${u.info.http_url}/readyz`).then((r) => r.status, () => 0);
  const restarted = await waitFor('a new nats-server', async () => {
    const info = JSON.parse(await readFile(join(dataDir, 'ovs-up.json'), 'utf8').catch(() => '{}')) as { nats_pid?: number };
    return info.nats_pid !== undefined && info.nats_pid !== nats_pid ? info.nats_pid : undefined;
  }, 30_000, 100);
  t.not(restarted, nats_pid);
  await waitFor('/readyz ready again', async () => (await readyz()) === 200, 30_000, 200);
  await waitFor('the config answers again', () => request<{ value: unknown }>(nc, 'ovs.config.get', { key: '/ovs/test/kept' }, { timeoutMs: 2_000 }).then((r) => r.value === 7, () => false), 30_000, 200);
  t.is(u.child.exitCode, null, 'ovs up itself kept running');
});

test.serial('ovs up --secure: its context works, a client without credentials is refused, the HTTP port wants the token but for /healthz and /readyz', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'ovs-up-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const [natsPort, httpPort] = [await freePort(), await freePort()];
  const u = await up(dataDir, natsPort, httpPort, ['--secure', '--log-format', 'json']);
  t.teardown(async () => {
    u.child.kill('SIGTERM');
    await exitOf(u.child);
  });
  const context = join(dataDir, 'context.json');
  const ls = await ovsCli(['ls', '--json', '--context', context]);
  t.is(ls.code, 0, ls.stderr);
  t.is((JSON.parse(ls.stdout) as unknown[]).length, 1);
  t.is(errorType(await ovsCli(['ls', '--json', '--nats', u.info.nats_url, '--tls-ca', join(dataDir, 'secure', 'ca.pem')])), 'AUTHENTICATION_FAILED');
  // Without the CA the server's certificate is not trusted: no connection either.
  t.is((await ovsCli(['ls', '--json', '--nats', u.info.nats_url])).code, 1);
  const reader = await ovsCli(['task', 'vdisk.delete', 'vdisk_guid=00000000-0000-0000-0000-000000000000', '--json', '--context', join(dataDir, 'reader-context.json')]);
  t.is(errorType(reader), 'PERMISSION_DENIED');

  const tokenFile = join(dataDir, 'secure', 'http-token');
  const token = (await readFile(tokenFile, 'utf8')).trim();
  t.is((await stat(tokenFile)).mode & 0o777, 0o600);
  t.is((JSON.parse(await readFile(context, 'utf8')) as { http_token?: string }).http_token, token);
  const status = (path: string, headers: Record<string, string> = {}): Promise<number> => fetch(`${u.info.http_url}${path}`, { headers }).then((r) => r.status);
  t.is(await status('/metrics'), 401);
  t.is(await status('/metrics', { authorization: 'Bearer not-the-token-at-all' }), 401);
  t.is(await status('/metrics', { authorization: `Bearer ${token}` }), 200);
  t.is(await status('/healthz'), 200);
  t.is(await status('/readyz'), 200);
  await waitFor('ovs up names the token file', () => (u.stderr().includes('ovs is up') ? true : undefined), 30_000, 100);
  t.true(u.stderr().includes(tokenFile));
});

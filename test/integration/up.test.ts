import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { connectClient, request } from '../../src/client.js';
import { waitFor } from '../helpers/eventually.js';

const BIN = new URL('../../src/bin/ovs.js', import.meta.url).pathname;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface Up { child: ChildProcess; info: { nats_url: string; http_url: string; storagerouter_guid: string } }

async function up(dataDir: string, natsPort: number, httpPort: number): Promise<Up> {
  const child = spawn(process.execPath, [BIN, 'up', '--data-dir', dataDir, '--nats-port', String(natsPort), '--http-port', String(httpPort)], { stdio: ['ignore', 'ignore', 'pipe'] });
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
  return { child, info };
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

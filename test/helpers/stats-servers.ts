import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './eventually.js';

/** A TCP port free right now on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

export interface ServerProcess {
  port: number;
  stop(): Promise<void>;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}

/** A real redis-server without persistence on a free port. */
export async function startRedis(): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await waitFor('redis-server listening', async () => {
    if (child.exitCode !== null) throw new Error('redis-server exited');
    return (await canConnect(port)) || null;
  }, 20_000, 50);
  return { port, stop: () => stopChild(child) };
}

/** A real InfluxDB 1.x (Debian's influxd) with its meta, data and WAL in a temporary directory. */
export async function startInfluxd(): Promise<ServerProcess & { query(q: string, db?: string): Promise<unknown> }> {
  const dir = await mkdtemp(join(tmpdir(), 'ovs-influxd-'));
  const [port, rpc] = [await freePort(), await freePort()];
  const conf = join(dir, 'influxdb.conf');
  await writeFile(conf, [
    'reporting-enabled = false',
    `bind-address = "127.0.0.1:${rpc}"`,
    '[meta]', `  dir = "${join(dir, 'meta')}"`,
    '[data]', `  dir = "${join(dir, 'data')}"`, `  wal-dir = "${join(dir, 'wal')}"`, '  query-log-enabled = false',
    '[monitor]', '  store-enabled = false',
    '[http]', `  bind-address = "127.0.0.1:${port}"`, '  log-enabled = false',
    '[continuous_queries]', '  enabled = false',
  ].join('\n'));
  const child = spawn('influxd', ['-config', conf], { stdio: 'ignore' });
  const base = `http://127.0.0.1:${port}`;
  await waitFor('influxd answering /ping', async () => {
    if (child.exitCode !== null) throw new Error('influxd exited');
    return (await fetch(`${base}/ping`).then((r) => r.status === 204, () => false)) || null;
  }, 30_000, 100);
  return {
    port,
    async query(q: string, db?: string) {
      const params = new URLSearchParams({ q, ...(db ? { db } : {}) });
      const r = await fetch(`${base}/query`, { method: 'POST', body: params });
      return (await r.json()) as unknown;
    },
    async stop() {
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A UDP socket on 127.0.0.1 keeping every line it receives (a graphite carbon listener). */
export async function udpLines(): Promise<{ port: number; lines: string[]; close(): void }> {
  const socket: Socket = createSocket('udp4');
  const lines: string[] = [];
  socket.on('message', (m) => lines.push(...m.toString().split('\n').filter((l) => l.length > 0)));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, lines, close: () => socket.close() };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

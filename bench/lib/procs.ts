import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Compiled entry point of the CLI (dist/src/bin/ovs.js), relative to dist/bench/lib/. */
export const OVS_BIN = new URL('../../src/bin/ovs.js', import.meta.url).pathname;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Node flags for spawned agents, e.g. BENCH_AGENT_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof". */
export function agentNodeArgs(): string[] {
  return (process.env.BENCH_AGENT_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
}

/** A spawned child with the tail of its output kept for error messages. */
export interface Child {
  name: string;
  proc: ChildProcess;
  output: () => string;
}

/**
 * Owns every child process and temporary directory of one bench run, so they are gone at the end whatever
 * happens (normal end, thrown error, Ctrl-C).
 */
export class Resources {
  private readonly children: Child[] = [];
  private readonly dirs: string[] = [];
  private cleaned = false;

  async tempDir(prefix: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  spawn(name: string, cmd: string, args: string[], opts: SpawnOptions = {}): Child {
    const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let tail = '';
    const keep = (b: Buffer): void => {
      tail = (tail + b.toString()).slice(-8_000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    const child: Child = { name, proc, output: () => tail };
    this.children.push(child);
    return child;
  }

  /** Children in reverse order of start (clients before the server), SIGTERM then SIGKILL; then the temp dirs. */
  async cleanup(): Promise<void> {
    if (this.cleaned) return;
    this.cleaned = true;
    for (const c of [...this.children].reverse()) await stopChild(c.proc);
    for (const d of this.dirs) await rm(d, { recursive: true, force: true }).catch(() => undefined);
  }
}

function exited(p: ChildProcess): boolean {
  return p.exitCode !== null || p.signalCode !== null;
}

export async function stopChild(p: ChildProcess, graceMs = 10_000): Promise<void> {
  if (exited(p)) return;
  const done = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  const hard = setTimeout(() => {
    if (!exited(p)) p.kill('SIGKILL');
  }, graceMs);
  await done;
  clearTimeout(hard);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** True once something on host:port greets with a NATS `INFO` line. */
function natsGreets(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: '127.0.0.1', port });
    const finish = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1_000, () => finish(false));
    s.once('error', () => finish(false));
    s.once('data', (b: Buffer) => finish(b.toString().startsWith('INFO')));
  });
}

/** nats-server -js on a free port with a temporary store; resolves once it accepts connections. */
export async function startNatsServer(res: Resources): Promise<{ url: string; child: Child }> {
  const dir = await res.tempDir('ovs-bench-nats-');
  const port = await freePort();
  const child = res.spawn('nats-server', 'nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir]);
  const until = Date.now() + 15_000;
  while (!(await natsGreets(port))) {
    if (exited(child.proc)) throw new Error(`nats-server exited: ${child.output()}`);
    if (Date.now() > until) throw new Error(`nats-server did not accept connections on ${port}: ${child.output()}`);
    await sleep(50);
  }
  return { url: `nats://127.0.0.1:${port}`, child };
}

/** A real `ovs agent` in its own process; resolves with its StorageRouter guid once the ready file appears. */
export async function startAgent(res: Resources, natsUrl: string, name: string, ip = '127.0.0.1'): Promise<{ guid: string; child: Child; dataDir: string }> {
  const dataDir = await res.tempDir('ovs-bench-agent-');
  const ready = join(dataDir, 'ready.json');
  const args = [...agentNodeArgs(), OVS_BIN, 'agent', '--nats', natsUrl, '--data-dir', dataDir, '--name', name, '--ip', ip];
  const child = res.spawn(`agent ${name}`, process.execPath, args, {
    env: { ...process.env, OVS_READY_FILE: ready, OVS_LOG_LEVEL: process.env.OVS_LOG_LEVEL ?? 'warn' },
  });
  const until = Date.now() + 60_000;
  for (;;) {
    const text = await readFile(ready, 'utf8').catch(() => undefined);
    if (text) {
      try {
        const info = JSON.parse(text) as { storagerouter_guid?: string };
        if (info.storagerouter_guid) return { guid: info.storagerouter_guid, child, dataDir };
      } catch {
        // written but not complete yet
      }
    }
    if (exited(child.proc)) throw new Error(`agent exited before ready: ${child.output()}`);
    if (Date.now() > until) throw new Error(`agent not ready after 60 s: ${child.output()}`);
    await sleep(50);
  }
}

/** Waits for a child to print `marker` on stdout/stderr. */
export async function waitForOutput(child: Child, marker: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!child.output().includes(marker)) {
    if (exited(child.proc)) throw new Error(`${child.name} exited: ${child.output()}`);
    if (Date.now() > until) throw new Error(`${child.name} did not print '${marker}': ${child.output()}`);
    await sleep(20);
  }
}

// NBD servers for `bench nbd`: ours (`ovs volume serve`) and the qemu-nbd baseline, plus the helpers around them.
import { readFile, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { OVS_BIN, sleep, type Child, type Resources } from './procs.js';

const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;
const EXPORT = 'bench';

/** Node flags for the spawned `ovs volume serve`, e.g. BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof". */
export function serverNodeArgs(): string[] {
  return (process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
}

export interface NbdTarget {
  label: string;
  uri: string;
  child: Child;
}

function exited(c: Child): boolean {
  return c.proc.exitCode !== null || c.proc.signalCode !== null;
}

/** Runs a command to completion under `res` (so Ctrl-C kills it); resolves with its exit code and output tail. */
export async function runToEnd(res: Resources, name: string, cmd: string, args: string[], timeoutMs: number): Promise<{ code: number; output: string }> {
  const child = res.spawn(name, cmd, args);
  const code = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.proc.kill('SIGKILL');
      reject(new Error(`${name} did not finish within ${Math.round(timeoutMs / 1000)} s: ${child.output()}`));
    }, timeoutMs);
    child.proc.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${name}: ${e.message}`));
    });
    child.proc.once('close', (c, sig) => {
      clearTimeout(timer);
      resolve(c ?? (sig ? 128 : 1));
    });
  });
  return { code, output: child.output() };
}

/** Refuses a RAM-backed temp dir (the comparison must hit the real disk); returns a one-line description. */
export async function checkOnDisk(dir: string): Promise<string> {
  const fs = await statfs(dir);
  if (fs.type === TMPFS_MAGIC || fs.type === RAMFS_MAGIC) {
    throw new Error(`${dir} is on tmpfs/ramfs; point TMPDIR at a directory on the real disk (e.g. TMPDIR=$PWD/.bench-tmp)`);
  }
  const [d, cwd] = await Promise.all([stat(dir), stat(process.cwd())]);
  const freeGiB = (fs.bavail * fs.bsize) / 2 ** 30;
  return `${dir} (fs type 0x${fs.type.toString(16)}, ${freeGiB.toFixed(0)} GiB free, ${d.dev === cwd.dev ? 'same device as' : 'other device than'} ${process.cwd()})`;
}

/** Polls `nbdinfo` until the export answers. */
async function waitForNbd(res: Resources, child: Child, uri: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    if (exited(child)) throw new Error(`${child.name} exited before serving: ${child.output()}`);
    const r = await runToEnd(res, 'nbdinfo', 'nbdinfo', [uri], 10_000).catch((e: Error) => ({ code: -1, output: e.message }));
    if (r.code === 0) return;
    last = r.output;
    if (Date.now() > until) throw new Error(`${uri} not served after ${timeoutMs / 1000} s: ${last}\n${child.name}: ${child.output()}`);
    await sleep(100);
  }
}

/** `ovs volume serve` on a fresh cache + backend directory (default geometry: 4 KiB clusters, 4 MiB SCOs). */
export async function startOurs(res: Resources, dir: string, port: number, sizeBytes: number): Promise<NbdTarget> {
  const args = [
    ...serverNodeArgs(),
    OVS_BIN,
    'volume',
    'serve',
    '--dir',
    join(dir, 'cache'),
    '--backend',
    join(dir, 'backend'),
    '--name',
    EXPORT,
    '--size',
    String(sizeBytes),
    '--port',
    String(port),
    '--host',
    '127.0.0.1',
    ...(process.env.BENCH_SERVE_ARGS ?? '').split(' ').filter((a) => a.length > 0),
  ];
  const child = res.spawn('ovs volume serve', process.execPath, args, {
    env: { ...process.env, OVS_LOG_LEVEL: process.env.OVS_LOG_LEVEL ?? 'warn' },
  });
  const uri = `nbd://127.0.0.1:${port}/${EXPORT}`;
  await waitForNbd(res, child, uri);
  return { label: 'ours', uri, child };
}

/**
 * qemu-nbd serving a sparse raw file. Flags are qemu-nbd's defaults made explicit: --cache=writeback (host page
 * cache, flush on NBD FLUSH only — like our write cache) and --aio=threads; -t keeps it up across fio runs and -e 4
 * lets the nbdinfo probe and fio overlap.
 */
export async function startQemuNbd(res: Resources, dir: string, port: number, sizeBytes: number): Promise<NbdTarget> {
  const img = join(dir, 'raw.img');
  const t = await runToEnd(res, 'truncate', 'truncate', ['-s', String(sizeBytes), img], 10_000);
  if (t.code !== 0) throw new Error(`truncate failed: ${t.output}`);
  const args = ['-f', 'raw', '-x', EXPORT, '-b', '127.0.0.1', '-p', String(port), '-t', '-e', '4', '--cache=writeback', '--aio=threads', img];
  const child = res.spawn('qemu-nbd', 'qemu-nbd', args);
  const uri = `nbd://127.0.0.1:${port}/${EXPORT}`;
  await waitForNbd(res, child, uri);
  return { label: 'qemu-nbd', uri, child };
}

/** utime+stime of a process in clock ticks (Linux), or undefined once it is gone. */
export async function cpuTicks(pid: number): Promise<number | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (!text) return undefined;
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields after the command name start at field 3 (state); utime/stime are fields 14/15
  return Number(f[11]) + Number(f[12]);
}

/**
 * Between measurements: `sync` so neither side pays for the other's dirty pages, then wait until the server
 * process is idle (< ~5 % CPU over 500 ms) so background work of one run does not leak into the next.
 * Returns how long it took (ms) and whether the server went idle.
 */
export async function settle(res: Resources, servers: NbdTarget[], maxMs = 20_000): Promise<{ ms: number; idle: boolean }> {
  const t0 = Date.now();
  await runToEnd(res, 'sync', 'sync', [], 120_000);
  const until = Date.now() + maxMs;
  for (const s of servers) {
    const pid = s.child.proc.pid;
    if (pid === undefined) continue;
    let before = await cpuTicks(pid);
    for (;;) {
      await sleep(500);
      const now = await cpuTicks(pid);
      if (now === undefined || before === undefined) break;
      if (now - before <= 2) break; // USER_HZ is 100 on Linux: 2 ticks per 500 ms ~ 4 %
      before = now;
      if (Date.now() > until) return { ms: Date.now() - t0, idle: false };
    }
  }
  return { ms: Date.now() - t0, idle: true };
}

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './eventually.js';
import { run } from './run.js';

/**
 * qemu's NBD client in front of one edge, re-exported on a unix socket: when the edge drops the connection (the vDisk
 * moved away, the agent restarts) it reconnects and retries the requests in flight, for up to `reconnectDelayS`,
 * as a VM's disk attached with `reconnect-delay` does. Clients of the socket (fio, qemu-io) see no error.
 */
export interface ReconnectingNbd {
  /** The unix socket qemu-nbd serves the export on. */
  socket: string;
  exportName: string;
  /** `nbd+unix:///<export>?socket=<socket>`, for fio's nbd engine, qemu-io and nbdinfo. */
  uri: string;
  /** What qemu-nbd printed so far (its reconnect messages). */
  output(): string;
  stop(): Promise<void>;
}

export interface ReconnectingNbdOptions {
  host: string;
  port: number;
  exportName: string;
  /**
   * Seconds qemu keeps requests while it reconnects before failing them (default 60). Past it, requests fail at once
   * with EIO until qemu's next retry (every 1, 2, 4, 8, then 16 s) gets through; then the client serves again.
   */
  reconnectDelayS?: number;
  /** qemu trace events to print (e.g. `nbd_*`): what its client did while reconnecting ends up in `output()`. */
  trace?: string;
}

export async function startReconnectingNbd(o: ReconnectingNbdOptions): Promise<ReconnectingNbd> {
  const dir = await mkdtemp(join(tmpdir(), 'ovs-qnbd-'));
  const socket = join(dir, 'nbd.sock');
  const image = [
    'driver=nbd', 'server.type=inet', `server.host=${o.host}`, `server.port=${o.port}`, `export=${o.exportName}`,
    `reconnect-delay=${o.reconnectDelayS ?? 60}`,
  ].join(',');
  // -t: keep serving after a client leaves; -e: fio opens the export more than once (layout, then the job).
  const args = ['--image-opts', image, '-k', socket, '-x', o.exportName, '-t', '-e', '8', '--cache=none'];
  if (o.trace) args.push('-T', o.trace);
  const child: ChildProcess = spawn('qemu-nbd', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await waitFor('qemu-nbd socket', () => {
    if (child.exitCode !== null) throw new Error(`qemu-nbd exited ${child.exitCode}: ${out}`);
    return existsSync(socket);
  }, 20_000);
  return {
    socket,
    exportName: o.exportName,
    uri: `nbd+unix:///${o.exportName}?socket=${socket}`,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface FioOptions {
  uri: string;
  /** Bytes of the export the job covers (from offset 0). */
  sizeBytes: number;
  runtimeS: number;
  /** Default randwrite; every block written is read back and checked (crc32c) while the job runs and at its end. */
  rw?: 'randwrite' | 'write' | 'randrw';
  bs?: string;
  iodepth?: number;
}

/** The parts of fio's JSON output a test looks at. */
export interface FioResult {
  /** Error of the job (0: none); a failed verify or an I/O error sets it. */
  error: number;
  totalErrors: number;
  writeIos: number;
  readIos: number;
  readBytes: number;
  readBwKiBs: number;
  /** fio's whole JSON, and its stderr. */
  json: unknown;
  stderr: string;
}

interface FioJob {
  error: number;
  total_err?: number;
  read: { total_ios: number; io_bytes: number; bw: number };
  write: { total_ios: number };
}

/** Runs one fio job (nbd engine, crc32c verify, stop at the first verify failure) and parses its JSON. */
export async function runFio(o: FioOptions): Promise<FioResult> {
  const args = [
    '--name=verify', '--ioengine=nbd', `--uri=${o.uri}`, `--rw=${o.rw ?? 'randwrite'}`, `--bs=${o.bs ?? '64k'}`,
    `--size=${o.sizeBytes}`, `--iodepth=${o.iodepth ?? 8}`, '--time_based', `--runtime=${o.runtimeS}`,
    '--verify=crc32c', '--verify_backlog=32', '--verify_fatal=1', '--do_verify=1', '--output-format=json',
  ];
  return parseFio(await run('fio', args));
}

/** A read-only fio run (throughput measurements). */
export async function runFioRead(o: { uri: string; sizeBytes: number; runtimeS: number; bs?: string; iodepth?: number }): Promise<FioResult> {
  const args = [
    '--name=read', '--ioengine=nbd', `--uri=${o.uri}`, '--rw=read', `--bs=${o.bs ?? '1m'}`, `--size=${o.sizeBytes}`,
    `--iodepth=${o.iodepth ?? 8}`, '--time_based', `--runtime=${o.runtimeS}`, '--output-format=json',
  ];
  return parseFio(await run('fio', args));
}

function parseFio(r: { code: number | null; stdout: string; stderr: string }): FioResult {
  const start = r.stdout.indexOf('{');
  if (start < 0) throw new Error(`fio printed no JSON (exit ${r.code}): ${r.stderr}${r.stdout}`);
  const json = JSON.parse(r.stdout.slice(start)) as { jobs: FioJob[] };
  const job = json.jobs[0];
  if (!job) throw new Error(`fio reported no job: ${r.stdout}`);
  return {
    error: job.error !== 0 ? job.error : r.code === 0 ? 0 : -1,
    totalErrors: job.total_err ?? 0,
    writeIos: job.write.total_ios,
    readIos: job.read.total_ios,
    readBytes: job.read.io_bytes,
    readBwKiBs: job.read.bw,
    json,
    stderr: r.stderr,
  };
}

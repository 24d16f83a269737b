// fio (nbd engine) jobs for `bench nbd`, and parsing of fio's JSON output.
import { readFile } from 'node:fs/promises';
import type { Resources } from './procs.js';
import { runToEnd } from './nbd-servers.js';

export interface FioJob {
  key: 'randwrite' | 'randread' | 'seqwrite' | 'seqread';
  rw: 'randwrite' | 'randread' | 'write' | 'read';
  bs: string;
  iodepth: number;
  /** How the job is compared: IOPS for small blocks, MB/s for large ones. */
  unit: 'IOPS' | 'MB/s';
}

export const FIO_JOBS: readonly FioJob[] = [
  { key: 'randwrite', rw: 'randwrite', bs: '4k', iodepth: 32, unit: 'IOPS' },
  { key: 'randread', rw: 'randread', bs: '4k', iodepth: 32, unit: 'IOPS' },
  { key: 'seqwrite', rw: 'write', bs: '1M', iodepth: 8, unit: 'MB/s' },
  { key: 'seqread', rw: 'read', bs: '1M', iodepth: 8, unit: 'MB/s' },
];

export interface FioResult {
  iops: number;
  /** bytes per second */
  bw: number;
  /** completion latency, microseconds */
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  ios: number;
  /** fio's own CPU (user + system), percent of one CPU over the job */
  cpuPct: number;
}

export interface FioTiming {
  runtimeS: number;
  rampS: number;
  /** bytes of the volume the jobs address (from offset 0) */
  sizeBytes: number;
}

/** The figure a job is compared on. */
export function figure(job: FioJob, r: FioResult): number {
  return job.unit === 'IOPS' ? r.iops : r.bw / 1e6;
}

function commonArgs(name: string, uri: string, out: string): string[] {
  return [`--name=${name}`, '--ioengine=nbd', `--uri=${uri}`, '--direct=0', '--numjobs=1', '--output-format=json', `--output=${out}`, '--percentile_list=50:90:99:99.9'];
}

interface FioJson {
  jobs?: Array<{
    error?: number;
    usr_cpu?: number;
    sys_cpu?: number;
    read?: FioDir;
    write?: FioDir;
  }>;
}
interface FioDir {
  iops?: number;
  bw_bytes?: number;
  total_ios?: number;
  clat_ns?: { percentile?: Record<string, number> };
}

async function runFio(res: Resources, args: string[], out: string, dir: 'read' | 'write', timeoutMs: number): Promise<FioResult> {
  const r = await runToEnd(res, 'fio', 'fio', args, timeoutMs);
  const text = await readFile(out, 'utf8').catch(() => '');
  if (r.code !== 0) throw new Error(`fio ${args.join(' ')} exited ${r.code}: ${r.output}\n${text.slice(0, 2_000)}`);
  const brace = text.indexOf('{'); // fio may put notes ahead of the JSON
  let parsed: FioJson;
  try {
    parsed = JSON.parse(text.slice(Math.max(0, brace))) as FioJson;
  } catch (e) {
    throw new Error(`fio output is not JSON (${(e as Error).message}): ${text.slice(0, 2_000)} ${r.output}`);
  }
  const job = parsed.jobs?.[0];
  const d = job?.[dir];
  if (!job || !d || job.error) throw new Error(`fio job failed (error ${job?.error}): ${r.output}`);
  const pct = d.clat_ns?.percentile ?? {};
  return {
    iops: d.iops ?? 0,
    bw: d.bw_bytes ?? 0,
    ios: d.total_ios ?? 0,
    cpuPct: (job.usr_cpu ?? NaN) + (job.sys_cpu ?? NaN),
    p50Us: (pct['50.000000'] ?? NaN) / 1000,
    p90Us: (pct['90.000000'] ?? NaN) / 1000,
    p99Us: (pct['99.000000'] ?? NaN) / 1000,
    p999Us: (pct['99.900000'] ?? NaN) / 1000,
  };
}

/** Sequential 1 MiB writes over the whole area, so that later reads hit written data. */
export function precondition(res: Resources, uri: string, t: FioTiming, out: string): Promise<FioResult> {
  const args = [...commonArgs('precondition', uri, out), '--rw=write', '--bs=1M', '--iodepth=8', `--size=${t.sizeBytes}`];
  return runFio(res, args, out, 'write', 600_000);
}

/** One time-based measurement. */
export function measure(res: Resources, uri: string, job: FioJob, t: FioTiming, out: string): Promise<FioResult> {
  const args = [
    ...commonArgs(job.key, uri, out),
    `--rw=${job.rw}`,
    `--bs=${job.bs}`,
    `--iodepth=${job.iodepth}`,
    `--size=${t.sizeBytes}`,
    '--time_based',
    `--runtime=${t.runtimeS}`,
    `--ramp_time=${t.rampS}`,
    '--randrepeat=1',
  ];
  return runFio(res, args, out, job.rw.endsWith('write') ? 'write' : 'read', (t.runtimeS + t.rampS + 120) * 1000);
}

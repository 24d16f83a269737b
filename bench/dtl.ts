// `bench dtl`: fio through NBD on one vDisk, its volume without DTL, with a synchronous DTL on another agent and with
// an asynchronous one, interleaved in the same run; prints `dtl_sync_randwrite_ratio=A dtl_sync_seqwrite_ratio=B` last.
//
// Args: --runtime S (10) --ramp S (2) --reps N (3) --size MiB (256) --modes none,sync,async --jobs randwrite,seqwrite
// BENCH_AGENT_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" profiles both agents.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DtlCluster, type DtlMode } from './lib/dtl-cluster.js';
import { figure, measure, precondition, type FioJob, type FioResult, type FioTiming } from './lib/nbd-fio.js';
import { checkOnDisk, cpuTicks } from './lib/nbd-servers.js';
import type { Resources } from './lib/procs.js';

type ModeKey = 'none' | 'sync' | 'async';
const MODES: Record<ModeKey, DtlMode | null> = { none: null, sync: 'Synchronous', async: 'Asynchronous' };

const JOBS: readonly FioJob[] = [
  { key: 'randwrite', rw: 'randwrite', bs: '4k', iodepth: 16, unit: 'IOPS' },
  { key: 'seqwrite', rw: 'write', bs: '1M', iodepth: 4, unit: 'MB/s' },
];

interface Options extends FioTiming {
  reps: number;
  modes: ModeKey[];
  jobs: FioJob[];
}

function parseArgs(args: string[]): Options {
  const o: Options = { runtimeS: 10, rampS: 2, reps: 3, sizeBytes: 256 * 2 ** 20, modes: ['none', 'sync', 'async'], jobs: [...JOBS] };
  for (let i = 0; i < args.length; i += 2) {
    const [flag, v] = [args[i], args[i + 1]];
    if (v === undefined) throw new Error(`missing value for ${flag}`);
    const n = Number(v);
    if (flag === '--modes') {
      const m = v.split(',');
      if (!m.includes('none') || m.some((x) => !(x in MODES))) throw new Error('--modes: none plus any of sync,async');
      o.modes = m as ModeKey[];
    } else if (flag === '--jobs') {
      o.jobs = JOBS.filter((j) => v.split(',').includes(j.key));
      if (o.jobs.length !== v.split(',').length) throw new Error('--jobs: randwrite,seqwrite');
    } else if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} wants a number, got ${v}`);
    else if (flag === '--runtime') o.runtimeS = n;
    else if (flag === '--ramp') o.rampS = n;
    else if (flag === '--reps') o.reps = Math.max(1, Math.floor(n));
    else if (flag === '--size') o.sizeBytes = Math.floor(n) * 2 ** 20;
    else throw new Error(`unknown argument ${flag}`);
  }
  return o;
}

interface Sample {
  fio: FioResult;
  /** CPU seconds (user + system) of the owner's agent and of the DTL's agent during the job */
  ownerCpuS: number;
  dtlCpuS: number;
  /** Share of the host's CPUs busy (not idle, not waiting for I/O) during the job */
  hostBusy: number;
}

/** Busy and total jiffies of all CPUs, from /proc/stat. */
async function hostJiffies(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n', 1)[0]!;
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3]! - f[4]!, total };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n');
}

async function cpuS(pid: number | undefined): Promise<number> {
  return ((pid === undefined ? undefined : await cpuTicks(pid)) ?? NaN) / 100;
}

export async function dtl(res: Resources, args: string[]): Promise<void> {
  const o = parseArgs(args);
  const log = (m: string): void => void process.stderr.write(`dtl: ${m}\n`);
  const started = Date.now();
  const dir = await res.tempDir('ovs-bench-dtl-');
  log(`temp dir ${await checkOnDisk(dir)}`);
  const c = await DtlCluster.start(res, ['127.0.0.61', '127.0.0.62'], 'dtlbench');
  try {
    const [owner, target] = [c.sds[0]!, c.sds[1]!];
    const [ownerPid, dtlPid] = [c.agents[0]!.proc.pid, c.agents[1]!.proc.pid];
    const { volumeId, uri } = await c.createVdisk(owner, 'dtldisk', o.sizeBytes);
    log(`vDisk ${uri} (volume ${volumeId}) on ${owner.storage_ip}; DTL target ${target.storage_ip}:${target.ports.dtl}`);
    const out = join(dir, 'fio.json');
    const pre = await precondition(res, uri, o, out);
    log(`precondition: ${(o.sizeBytes / 2 ** 20).toFixed(0)} MiB sequential 1M writes at ${(pre.bw / 1e6).toFixed(0)} MB/s`);

    const samples = new Map<string, Sample[]>();
    for (let rep = 0; rep < o.reps; rep++) {
      for (const job of o.jobs) {
        for (const mode of o.modes) {
          const { attachMs, states } = await c.setDtl(owner, volumeId, MODES[mode] ? target : null, MODES[mode]);
          const [o0, d0, h0] = [await cpuS(ownerPid), await cpuS(dtlPid), await hostJiffies()];
          const r = await measure(res, uri, job, o, out);
          const h1 = await hostJiffies();
          const s: Sample = { fio: r, ownerCpuS: (await cpuS(ownerPid)) - o0, dtlCpuS: (await cpuS(dtlPid)) - d0, hostBusy: (h1.busy - h0.busy) / (h1.total - h0.total) };
          samples.set(`${job.key}/${mode}`, [...(samples.get(`${job.key}/${mode}`) ?? []), s]);
          log(
            `rep ${rep + 1}/${o.reps} ${job.key.padEnd(9)} ${mode.padEnd(5)} ${Math.round(r.iops)} IOPS ${(r.bw / 1e6).toFixed(1)} MB/s ` +
              `clat p50/p90/p99/p99.9 ${[r.p50Us, r.p90Us, r.p99Us, r.p999Us].map((x) => x.toFixed(0)).join('/')} us; ` +
              `cpu owner ${s.ownerCpuS.toFixed(1)} s, dtl agent ${s.dtlCpuS.toFixed(1)} s, fio ${r.cpuPct.toFixed(0)} %, host busy ${(100 * s.hostBusy).toFixed(0)} %; ready in ${attachMs.toFixed(0)} ms (${states.join(' → ')})`,
          );
        }
      }
    }
    await rm(out, { force: true });
    await c.setDtl(owner, volumeId, null, null);

    const med = (key: string, f: (s: Sample) => number): number => median((samples.get(key) ?? []).map(f));
    const rows: string[][] = [['job', 'DTL', 'IOPS', 'MB/s', 'ratio', 'p50 us', 'p90 us', 'p99 us', 'p99.9 us', 'owner cpu us/io', 'dtl cpu us/io', 'fio cpu %', 'host busy %']];
    // CPU is sampled over ramp and run, fio counts I/Os of the run only.
    const perIo = (cpuS: number, s: Sample): number => (1e6 * cpuS) / (s.fio.ios * ((o.runtimeS + o.rampS) / o.runtimeS));
    const ratio = (job: FioJob, mode: ModeKey): number => med(`${job.key}/${mode}`, (s) => figure(job, s.fio)) / med(`${job.key}/none`, (s) => figure(job, s.fio));
    for (const job of o.jobs) {
      for (const mode of o.modes) {
        const k = `${job.key}/${mode}`;
        rows.push([
          `${job.key} ${job.bs} qd${job.iodepth}`, mode, med(k, (s) => s.fio.iops).toFixed(0), (med(k, (s) => s.fio.bw) / 1e6).toFixed(1),
          ratio(job, mode).toFixed(2), ...[(s: Sample) => s.fio.p50Us, (s: Sample) => s.fio.p90Us, (s: Sample) => s.fio.p99Us, (s: Sample) => s.fio.p999Us].map((f) => med(k, f).toFixed(0)),
          med(k, (s) => perIo(s.ownerCpuS, s)).toFixed(0), med(k, (s) => perIo(s.dtlCpuS, s)).toFixed(0),
          med(k, (s) => s.fio.cpuPct).toFixed(0), med(k, (s) => 100 * s.hostBusy).toFixed(0),
        ]);
      }
    }
    const last = o.modes.includes('sync') ? o.jobs.map((j) => `dtl_sync_${j.key}_ratio=${ratio(j, 'sync').toFixed(2)}`).join(' ') : '';
    process.stdout.write(
      `\ndtl: fio nbd engine on one ${(o.sizeBytes / 2 ** 20).toFixed(0)} MiB vDisk (written once first), ${o.runtimeS} s after ${o.rampS} s ramp, ` +
        `${o.reps} repetition(s) interleaved none/sync/async, median shown; the DTL on the other agent, both on this host; ` +
        `each job starts with the backend caught up; total ${((Date.now() - started) / 1000).toFixed(0)} s\n\n${table(rows)}\n\n` +
        (last ? `${last}\n` : ''),
    );
  } finally {
    await c.close();
  }
}

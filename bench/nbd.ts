// `bench nbd`: our NBD server (`ovs volume serve`) against qemu-nbd serving a raw file, same disk, same fio jobs.
//
// Args: --runtime S (default 15) --ramp S (2) --reps N (1) --size MiB (1024) --jobs randwrite,randread,...
//       --servers ours,qemu (both; `ours` alone is for profiling with BENCH_NODE_ARGS="--cpu-prof ...").
// Temp files go under os.tmpdir() (set TMPDIR to move them); a tmpfs temp dir is refused.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FIO_JOBS, figure, measure, precondition, type FioJob, type FioResult, type FioTiming } from './lib/nbd-fio.js';
import { checkOnDisk, cpuTicks, runToEnd, settle, startOurs, startQemuNbd, type NbdTarget } from './lib/nbd-servers.js';
import { freePort, type Resources } from './lib/procs.js';

interface Options extends FioTiming {
  reps: number;
  jobs: FioJob[];
  servers: Array<'ours' | 'qemu'>;
}

function parseArgs(args: string[]): Options {
  const o: Options = { runtimeS: 15, rampS: 2, reps: 1, sizeBytes: 1024 * 2 ** 20, jobs: [...FIO_JOBS], servers: ['ours', 'qemu'] };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    const v = args[i + 1];
    if (v === undefined) throw new Error(`missing value for ${flag}`);
    i++;
    const num = (): number => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} wants a positive number, got ${v}`);
      return n;
    };
    switch (flag) {
      case '--runtime':
        o.runtimeS = num();
        break;
      case '--ramp':
        o.rampS = Number(v);
        break;
      case '--reps':
        o.reps = Math.floor(num());
        break;
      case '--size':
        o.sizeBytes = Math.floor(num()) * 2 ** 20;
        break;
      case '--jobs': {
        const keys = v.split(',');
        o.jobs = FIO_JOBS.filter((j) => keys.includes(j.key));
        if (o.jobs.length !== keys.length) throw new Error(`--jobs: known jobs are ${FIO_JOBS.map((j) => j.key).join(',')}`);
        break;
      }
      case '--servers': {
        const s = v.split(',');
        if (s.some((x) => x !== 'ours' && x !== 'qemu') || s.length === 0) throw new Error('--servers: ours,qemu');
        o.servers = s as Array<'ours' | 'qemu'>;
        break;
      }
      default:
        throw new Error(`unknown argument ${flag}`);
    }
  }
  return o;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function fmt(job: FioJob, r: FioResult | undefined): string {
  if (!r) return '-';
  return job.unit === 'IOPS' ? `${Math.round(r.iops)} IOPS` : `${(r.bw / 1e6).toFixed(0)} MB/s`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n');
}

export async function nbd(res: Resources, args: string[]): Promise<void> {
  const o = parseArgs(args);
  const log = (m: string): void => void process.stderr.write(`nbd: ${m}\n`);
  const started = Date.now();

  const dir = await res.tempDir('ovs-bench-nbd-');
  log(`temp dir ${await checkOnDisk(dir)}`);

  const servers: NbdTarget[] = [];
  const [portOurs, portQemu] = [await freePort(), await freePort()];
  if (o.servers.includes('ours')) servers.push(await startOurs(res, join(dir, 'ours'), portOurs, o.sizeBytes));
  if (o.servers.includes('qemu')) servers.push(await startQemuNbd(res, dir, portQemu, o.sizeBytes));
  for (const s of servers) log(`${s.label} serving ${s.uri} (pid ${s.child.proc.pid})`);

  const out = join(dir, 'fio.json');
  for (const s of servers) {
    await settle(res, servers);
    const r = await precondition(res, s.uri, o, out);
    log(`precondition ${s.label}: ${(o.sizeBytes / 2 ** 20).toFixed(0)} MiB sequential 1M writes at ${(r.bw / 1e6).toFixed(0)} MB/s`);
  }

  // results[job][server] = one FioResult per repetition
  const results = new Map<string, Map<string, FioResult[]>>();
  // job -> why `ours` failed it (fio stops at the first I/O error)
  const failures = new Map<string, string>();
  for (let rep = 0; rep < o.reps; rep++) {
    for (const job of o.jobs) {
      // alternate who goes first, so neither side always runs right after the other's writes
      const order = (rep + o.jobs.indexOf(job)) % 2 === 0 ? servers : [...servers].reverse();
      for (const s of order) {
        const st = await settle(res, servers);
        if (!st.idle) log(`warning: a server was still busy after ${st.ms} ms of settling`);
        let r: FioResult;
        const pid = s.child.proc.pid ?? 0;
        const ticksBefore = await cpuTicks(pid);
        try {
          r = await measure(res, s.uri, job, o, out);
        } catch (e) {
          // A failing baseline means the bench itself is broken; a failing `ours` is a result, reported as such.
          if (s.label !== 'ours') throw e;
          const msg = (e as Error).message;
          const firstErr = /fio: [^\n]*error[^\n]*/.exec(msg)?.[0] ?? msg.split('\n')[0]!.slice(0, 300);
          const serverErr = [...s.child.output().matchAll(/"err":\{"type":"\w+","message":"([^"]*)"[^\n]*?"op":"(\w+)"/g)].pop();
          failures.set(job.key, `${firstErr}${serverErr ? ` (server: ${serverErr[2]} failed: ${serverErr[1]})` : ''}`);
          log(`rep ${rep + 1}/${o.reps} ${job.key.padEnd(9)} ${s.label.padEnd(8)} FAILED: ${failures.get(job.key)}`);
          continue;
        }
        const ticksAfter = await cpuTicks(pid);
        // Server CPU (all its threads, user + system) per GiB moved; includes the ramp, so it is a slight overestimate.
        const cpuS = ticksBefore !== undefined && ticksAfter !== undefined ? (ticksAfter - ticksBefore) / 100 : NaN;
        const movedGiB = (r.bw * o.runtimeS) / 2 ** 30;
        const cpuNote = Number.isFinite(cpuS) ? `; server cpu ${cpuS.toFixed(1)} s, ${(cpuS / movedGiB).toFixed(2)} s/GiB` : '';
        const perJob = results.get(job.key) ?? new Map<string, FioResult[]>();
        results.set(job.key, perJob);
        perJob.set(s.label, [...(perJob.get(s.label) ?? []), r]);
        log(
          `rep ${rep + 1}/${o.reps} ${job.key.padEnd(9)} ${s.label.padEnd(8)} ${fmt(job, r).padStart(11)}  ` +
            `(${Math.round(r.iops)} IOPS, ${(r.bw / 1e6).toFixed(1)} MB/s, p50 ${r.p50Us.toFixed(0)} us, p99 ${r.p99Us.toFixed(0)} us; settled ${st.ms} ms${cpuNote})`,
        );
      }
    }
  }
  await rm(out, { force: true });

  const du = await runToEnd(res, 'du', 'du', ['-sh', join(dir, 'ours'), join(dir, 'raw.img')], 30_000).catch(() => undefined);
  if (du?.code === 0) log(`disk use: ${du.output.trim().replace(/\n/g, '; ')}`);

  const med = (key: string, label: string, f: (r: FioResult) => number): number | undefined => {
    const rs = results.get(key)?.get(label);
    return rs && rs.length ? median(rs.map(f)) : undefined;
  };
  const rows: string[][] = [['job', 'ours', 'qemu-nbd', 'ratio', 'ours p99 us', 'qemu p99 us']];
  const ratios: string[] = [];
  for (const job of o.jobs) {
    const ours = med(job.key, 'ours', (r) => figure(job, r));
    const qemu = med(job.key, 'qemu-nbd', (r) => figure(job, r));
    const show = (x: number | undefined): string => (x === undefined ? '-' : job.unit === 'IOPS' ? `${Math.round(x)} IOPS` : `${x.toFixed(0)} MB/s`);
    const failed = failures.has(job.key);
    const ratio = failed ? 0 : ours !== undefined && qemu ? ours / qemu : undefined;
    const p99 = (label: string): string => {
      const x = med(job.key, label, (r) => r.p99Us);
      return x === undefined ? '-' : x.toFixed(0);
    };
    rows.push([`${job.key} ${job.bs} qd${job.iodepth}`, failed ? 'FAILED' : show(ours), show(qemu), ratio === undefined ? '-' : ratio.toFixed(2), p99('ours'), p99('qemu-nbd')]);
    if (ratio !== undefined) ratios.push(`nbd_${job.key}_ratio=${ratio.toFixed(2)}`);
  }
  process.stdout.write(
    `\nnbd: fio nbd engine, --direct=0, ${o.runtimeS} s time-based after ${o.rampS} s ramp, area ${(o.sizeBytes / 2 ** 20).toFixed(0)} MiB ` +
      `(written sequentially first), ${o.reps} repetition(s) interleaved, median shown; ` +
      `qemu-nbd -f raw --cache=writeback --aio=threads; total ${((Date.now() - started) / 1000).toFixed(0)} s\n\n` +
      table(rows) +
      '\n\n' +
      [...failures].map(([k, why]) => `${k}: ours FAILED (ratio counted as 0): ${why}\n`).join('') +
      (failures.size ? '\n' : ''),
  );
  if (ratios.length) process.stdout.write(`${ratios.join(' ')}\n`);
}

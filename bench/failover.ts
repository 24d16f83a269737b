// `bench failover`: kill -9 of the owner of many vDisks on a three-node vPool; how long until each is readable over
// NBD on another node (most of it is the offline timeout, printed too), and how long a move keeps a vDisk unserved.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { OFFLINE_AFTER_KEY } from '../src/cluster/failure-detector.js';
import { modelSubject, taskSubject } from '../src/protocol/subjects.js';
import { packr } from './lib/measure.js';
import { Resources, startAgent, startNatsServer } from './lib/procs.js';

async function call<T>(nc: NatsConnection, subject: string, params: Record<string, unknown>, timeout = 600_000): Promise<T> {
  const reply = await nc.request(subject, packr.pack(params), { timeout });
  const body = packr.unpack(Buffer.from(reply.data)) as { ok: boolean; result?: T; error?: { type: string; message: string } };
  if (!body.ok) throw new Error(`${subject}: ${body.error?.type} ${body.error?.message}`);
  return body.result as T;
}

function readable(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const p = spawn('nbdinfo', ['--size', url], { stdio: 'ignore' });
    p.on('exit', (code) => resolve(code === 0));
    p.on('error', () => resolve(false));
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

interface Sd { guid: string; storage_ip: string; storagerouter_guid: string; ports: { edge: number } }

export async function failover(res: Resources, args: string[]): Promise<void> {
  const arg = (name: string, dflt: number): number => Number(args[args.indexOf(name) + 1] ?? dflt) || dflt;
  const count = args.includes('--vdisks') ? arg('--vdisks', 100) : 100;
  const offlineS = args.includes('--offline-s') ? arg('--offline-s', 3) : 3;
  const moves = args.includes('--moves') ? arg('--moves', 10) : 10;
  const log = (m: string): void => void process.stderr.write(`failover: ${m}\n`);
  const nats = await startNatsServer(res);
  const ips = ['127.0.0.51', '127.0.0.52', '127.0.0.53'];
  const agents = [];
  for (const [i, ip] of ips.entries()) agents.push(await startAgent(res, nats.url, `fo${i}`, ip));
  const nc = await connect({ servers: nats.url });
  try {
    await call(nc, 'ovs.config.set', { key: OFFLINE_AFTER_KEY, value: offlineS });
    const backend = join(await res.tempDir('ovs-bench-backend-'), 'backend');
    const sds: Sd[] = [];
    for (const ip of ips) {
      const r = await call<{ storagedriver_guid: string }>(nc, taskSubject('storagerouter.add_vpool'), { parameters: { vpool_name: 'fobench', storagerouter_ip: ip, backend_info: { type: 'local', path: backend } } });
      sds.push(await call<Sd>(nc, modelSubject('storagedriver', 'get'), { guid: r.storagedriver_guid }));
    }
    const names: string[] = [];
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < count) {
        const name = `fo${String(next++).padStart(4, '0')}`;
        await call(nc, taskSubject('vdisk.create_new'), { volume_name: name, volume_size: 16 * 1024 * 1024, storagedriver_guid: sds[0]!.guid });
        names.push(name);
      }
    }));
    log(`${count} vDisks on node 0; moving ${moves} of them to node 1 and back`);
    // A short timeout: a request that reaches the killed agent before NATS noticed it is gone gets no answer.
    const byName = async (): Promise<Map<string, { guid: string; storagedriver_guid: string }>> =>
      new Map((await call<Array<{ name: string; guid: string; storagedriver_guid: string }>>(nc, modelSubject('vdisk', 'list'), {}, 5_000)).map((v) => [v.name, v]));
    const vdisks = await byName();
    const movePauses: number[] = [];
    for (const name of names.slice(0, moves)) {
      for (const target of [sds[1]!, sds[0]!]) {
        const t = performance.now();
        await call(nc, taskSubject('vdisk.move'), { vdisk_guid: vdisks.get(name)!.guid, target_storagerouter_guid: target.storagerouter_guid, force: false });
        movePauses.push(performance.now() - t);
      }
    }
    log(`killing node 0 (kill -9) with ${count} vDisks`);
    const t0 = performance.now();
    agents[0]!.child.proc.kill('SIGKILL');
    const back = new Map<string, number>();
    while (back.size < count && performance.now() - t0 < (args.includes('--give-up-s') ? arg('--give-up-s', 300) : 300) * 1000) {
      const now = await byName().catch(() => undefined);
      if (now) {
        await Promise.all([...now].filter(([name, v]) => !back.has(name) && names.includes(name) && v.storagedriver_guid !== sds[0]!.guid).map(async ([name, v]) => {
          const sd = sds.find((s) => s.guid === v.storagedriver_guid)!;
          if (await readable(`nbd://${sd.storage_ip}:${sd.ports.edge}/${name}`)) back.set(name, (performance.now() - t0) / 1000);
        }));
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (back.size < count) throw new Error(`${count - back.size} vDisks were not served elsewhere within 300 s; agents said:\n${agents.slice(1).map((a) => a.child.output().slice(-3000)).join('\n')}`);
    const spread = new Map<string, number>();
    for (const v of (await byName()).values()) spread.set(v.storagedriver_guid, (spread.get(v.storagedriver_guid) ?? 0) + 1);
    const times = [...back.values()].sort((a, b) => a - b);
    const pauses = movePauses.sort((a, b) => a - b);
    process.stdout.write(`\nfailover of ${count} vDisks after kill -9: first ${times[0]!.toFixed(1)} s, p50 ${percentile(times, 0.5).toFixed(1)} s, max ${times[times.length - 1]!.toFixed(1)} s (offline timeout ${offlineS} s)\n`);
    process.stdout.write(`vDisks per surviving StorageDriver: ${[...spread.entries()].filter(([sd]) => sd !== sds[0]!.guid).map(([, n]) => n).join(' / ')}\n`);
    process.stdout.write(`move (hand-over + restart at the target, the vDisk unserved meanwhile): p50 ${percentile(pauses, 0.5).toFixed(0)} ms over ${pauses.length} moves\n\n`);
    process.stdout.write(`offline_timeout_s=${offlineS} failover_s_p50=${percentile(times, 0.5).toFixed(1)} failover_s_max=${times[times.length - 1]!.toFixed(1)} move_pause_ms_p50=${percentile(pauses, 0.5).toFixed(0)}\n`);
  } finally {
    await nc.close();
  }
}

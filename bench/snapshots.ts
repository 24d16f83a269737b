// `bench snapshots`: generic.snapshot_all_vdisks over many vDisks on one node (default 1000), through NATS.
import { join } from 'node:path';
import { connect } from 'nats';
import { taskSubject } from '../src/protocol/subjects.js';
import { packr } from './lib/measure.js';
import { Resources, startAgent, startNatsServer } from './lib/procs.js';

async function call<T>(nc: Awaited<ReturnType<typeof connect>>, task: string, params: Record<string, unknown>, timeout = 600_000): Promise<T> {
  const reply = await nc.request(taskSubject(task), packr.pack(params), { timeout });
  const body = packr.unpack(Buffer.from(reply.data)) as { ok: boolean; result?: T; error?: { type: string; message: string } };
  if (!body.ok) throw new Error(`${task}: ${body.error?.type} ${body.error?.message}`);
  return body.result as T;
}

export async function snapshots(res: Resources, args: string[]): Promise<void> {
  const count = Number(args[args.indexOf('--vdisks') + 1] ?? 1000) || 1000;
  const log = (m: string): void => void process.stderr.write(`snapshots: ${m}\n`);
  const nats = await startNatsServer(res);
  const agent = await startAgent(res, nats.url, 'bench');
  const nc = await connect({ servers: nats.url });
  try {
    const backend = join(await res.tempDir('ovs-bench-backend-'), 'backend');
    const { storagedriver_guid: sd } = await call<{ storagedriver_guid: string }>(nc, 'storagerouter.add_vpool', {
      parameters: { vpool_name: 'bench', storagerouter_ip: '127.0.0.1', backend_info: { type: 'local', path: backend } },
    });
    const t0 = performance.now();
    let made = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (made < count) {
        const i = made++;
        await call(nc, 'vdisk.create_new', { volume_name: `vd${String(i).padStart(5, '0')}`, volume_size: 64 * 1024 * 1024, storagedriver_guid: sd });
      }
    }));
    const createS = (performance.now() - t0) / 1000;
    log(`created ${count} vDisks in ${createS.toFixed(1)} s (${(count / createS).toFixed(0)}/s)`);
    const t1 = performance.now();
    const [ok, failed] = await call<[string[], string[]]>(nc, 'generic.snapshot_all_vdisks', {});
    const snapS = (performance.now() - t1) / 1000;
    process.stdout.write(`\nsnapshot_all_vdisks: ${ok.length} snapshots, ${failed.length} failed, ${snapS.toFixed(2)} s\n`);
    if (failed.length > 0) throw new Error(`${failed.length} snapshots failed`);
    process.stdout.write(`snapshot_all_per_s=${(ok.length / snapS).toFixed(0)}\n`);
  } finally {
    await nc.close();
    void agent;
  }
}

// Two agents with one vPool each on loopback addresses, and the calls `bench dtl` makes on them over NATS.
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { modelSubject, taskSubject, voldrvSubject } from '../../src/protocol/subjects.js';
import { packr } from './measure.js';
import { sleep, startAgent, startNatsServer, type Child, type Resources } from './procs.js';

export interface Sd {
  guid: string;
  storage_ip: string;
  storagerouter_guid: string;
  ports: { edge: number; dtl: number };
}

export type DtlMode = 'Synchronous' | 'Asynchronous';

export interface VolumeInfo {
  failover_mode: string;
  halted: boolean;
}

export class DtlCluster {
  private constructor(
    readonly nc: NatsConnection,
    readonly sds: Sd[],
    readonly agents: Child[],
  ) {}

  static async start(res: Resources, ips: string[], vpool: string): Promise<DtlCluster> {
    const nats = await startNatsServer(res);
    const agents: Child[] = [];
    for (const [i, ip] of ips.entries()) agents.push((await startAgent(res, nats.url, `${vpool}${i}`, ip)).child);
    const nc = await connect({ servers: nats.url });
    const c = new DtlCluster(nc, [], agents);
    const backend = join(await res.tempDir('ovs-bench-backend-'), 'backend');
    for (const ip of ips) {
      const r = await c.call<{ storagedriver_guid: string }>(taskSubject('storagerouter.add_vpool'), {
        parameters: { vpool_name: vpool, storagerouter_ip: ip, backend_info: { type: 'local', path: backend } },
      });
      c.sds.push(await c.call<Sd>(modelSubject('storagedriver', 'get'), { guid: r.storagedriver_guid }));
    }
    return c;
  }

  async call<T>(subject: string, params: Record<string, unknown>, timeout = 600_000): Promise<T> {
    const reply = await this.nc.request(subject, packr.pack(params), { timeout });
    const body = packr.unpack(Buffer.from(reply.data)) as { ok: boolean; result?: T; error?: { type: string; message: string } };
    if (!body.ok) throw new Error(`${subject}: ${body.error?.type} ${body.error?.message}`);
    return body.result as T;
  }

  voldrv<T>(sd: Sd, method: string, params: Record<string, unknown>): Promise<T> {
    return this.call<T>(voldrvSubject(sd.storagerouter_guid, sd.guid, method), params, 120_000);
  }

  /** A new vDisk on `sd`; its volume id and NBD URL. */
  async createVdisk(sd: Sd, name: string, sizeBytes: number): Promise<{ volumeId: string; uri: string }> {
    const guid = await this.call<string>(taskSubject('vdisk.create_new'), { volume_name: name, volume_size: sizeBytes, storagedriver_guid: sd.guid });
    const vd = await this.call<{ volume_id: string }>(modelSubject('vdisk', 'get'), { guid });
    return { volumeId: vd.volume_id, uri: `nbd://${sd.storage_ip}:${sd.ports.edge}/${name}` };
  }

  /**
   * Points the volume's DTL at `target` (or none), then waits until the link is in its steady state and everything
   * written so far is in the backend, so no measurement pays for the previous one's uploads or the catch-up.
   */
  async setDtl(owner: Sd, volumeId: string, target: Sd | null, mode: DtlMode | null, timeoutMs = 120_000): Promise<{ attachMs: number; states: string[] }> {
    const t0 = performance.now();
    const config = target && mode ? { host: target.storage_ip, port: target.ports.dtl, mode } : null;
    await this.voldrv(owner, 'set_manual_dtl_config', { volume_id: volumeId, config });
    const want = config ? 'OK_SYNC' : 'OK_STANDALONE';
    const states: string[] = [];
    const until = Date.now() + timeoutMs;
    for (;;) {
      const info = await this.voldrv<VolumeInfo>(owner, 'info_volume', { volume_id: volumeId });
      if (states[states.length - 1] !== info.failover_mode) states.push(info.failover_mode);
      if (info.halted) throw new Error(`volume ${volumeId} halted while attaching its DTL (states ${states.join(' → ')})`);
      const synced = await this.syncBackend(owner, volumeId);
      if (info.failover_mode === want && synced) return { attachMs: performance.now() - t0, states };
      if (Date.now() > until) {
        const cfg = await this.voldrv<unknown>(owner, 'get_dtl_config', { volume_id: volumeId }).catch((e: Error) => e.message);
        throw new Error(
          `DTL of ${volumeId} not ${want} after ${timeoutMs / 1000} s: states ${states.join(' → ')}, backend synced ${synced}, ` +
            `get_dtl_config ${JSON.stringify(cfg)}\n${this.agents.map((a) => `${a.name}: ${a.output().slice(-2000)}`).join('\n')}`,
        );
      }
      await sleep(100);
    }
  }

  /** Schedules a backend sync and waits (up to 60 s) until its TLog is in the backend. */
  async syncBackend(owner: Sd, volumeId: string): Promise<boolean> {
    const tlog = await this.voldrv<string>(owner, 'schedule_backend_sync', { volume_id: volumeId });
    const until = Date.now() + 60_000;
    while (Date.now() < until) {
      if (await this.voldrv<boolean>(owner, 'is_volume_synced_up_to_tlog', { volume_id: volumeId, tlog_name: tlog })) return true;
      await sleep(50);
    }
    return false;
  }

  async close(): Promise<void> {
    await this.nc.close();
  }
}

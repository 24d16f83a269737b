import { DtlClient } from '../dtl/client.js';
import type { DtlReplay, StoredDtlConfig } from '../dtl/config.js';
import { MAX_IO_BYTES } from '../common/geometry.js';
import { scheduleBackendSync } from './volume-admin.js';
import type { DtlTimeouts } from './dtl-link.js';
import type { Volume } from './volume.js';

/** The first write-cache location a restarted volume does not hold; DTL entries from here on are replayed. */
export interface ReplayFrom {
  scoNumber: number;
  offset: number;
}

/** After a backend restart: everything in SCOs after the backend's last one. */
export function fromBackend(v: Volume): ReplayFrom {
  return { scoNumber: v.doc.lastScoNumber + 1, offset: 0 };
}

/** After a local restart: from where the valid local data ends (a power loss can cut it short). */
export function fromLocal(v: Volume): ReplayFrom {
  const open = v.sco.current;
  return open ? { scoNumber: open.number, offset: open.cursor } : { scoNumber: v.nextScoNumber, offset: 0 };
}

/**
 * A restart replays the DTL (C7 steal, and a local restart after a power loss): the DTL holds every acknowledged write
 * the restarted volume may lack, in write order. It is registered under the new owner tag (fencing the old owner
 * there too), its entries from `from` on are written again, the result is made durable (the backend after a failover,
 * the local disk after a local restart), and only then is the DTL cleared. Entries before `from` are skipped: the
 * volume has them, and a DTL that went DEGRADED keeps older entries than what the volume got since, which must not
 * undo acknowledged writes. A DTL that cannot be read leaves the volume as it is; the caller reports that.
 */
export async function replayDtl(v: Volume, stored: StoredDtlConfig, timeouts: DtlTimeouts, from: ReplayFrom, durable: 'backend' | 'local'): Promise<DtlReplay> {
  if (!stored.config) return { status: 'none', entries: 0 };
  const { host, port } = stored.config;
  if (stored.backendComplete) return { status: 'none', entries: 0, host, port, reason: 'the previous owner put everything in the backend' };
  let client: DtlClient | undefined;
  let entries = 0;
  try {
    client = await DtlClient.connect(host, port, { ...timeouts, mode: 'sync' });
    await client.register(v.ns, v.clusterSize, BigInt(v.ownerTag));
    const range = await client.rangeOf();
    const run = new RunBuilder(v, Math.min(MAX_IO_BYTES, 1 << 20));
    for (let sco = Math.max(from.scoNumber, range?.oldest ?? 0); range && sco <= range.youngest; sco++) {
      for await (const e of client.scoEntries(sco)) {
        if (sco === from.scoNumber && e.location.offset < from.offset) continue;
        await run.add(Number(e.lba) * 512, e.data);
        entries++;
      }
    }
    await run.flush();
    if (entries > 0 && durable === 'backend') {
      await scheduleBackendSync(v);
      await v.queue.idle();
    }
    if (entries > 0 && durable === 'local') await v.sync();
    v.checkUsable();
    await client.clear();
    return { status: 'replayed', entries, host, port };
  } catch (e) {
    return { status: 'unavailable', entries, host, port, reason: e instanceof Error ? e.message : String(e) };
  } finally {
    client?.close();
  }
}

/** Joins entries of consecutive clusters into one write. */
class RunBuilder {
  private start = -1;
  private parts: Buffer[] = [];
  private bytes = 0;

  constructor(
    private readonly v: Volume,
    private readonly maxBytes: number,
  ) {}

  async add(offset: number, data: Buffer): Promise<void> {
    if (this.start >= 0 && (offset !== this.start + this.bytes || this.bytes + data.length > this.maxBytes)) await this.flush();
    if (this.start < 0) this.start = offset;
    this.parts.push(data);
    this.bytes += data.length;
  }

  async flush(): Promise<void> {
    if (this.start < 0) return;
    await this.v.write(this.start, Buffer.concat(this.parts));
    this.start = -1;
    this.parts = [];
    this.bytes = 0;
  }
}

import { DtlClient } from '../dtl/client.js';
import type { DtlReplay, StoredDtlConfig } from '../dtl/config.js';
import { MAX_IO_BYTES } from '../common/geometry.js';
import { scheduleBackendSync } from './volume-admin.js';
import type { DtlTimeouts } from './dtl-link.js';
import type { Volume } from './volume.js';

/**
 * A backend restart after the owner died (C7 steal): the previous owner's DTL holds every acknowledged write the
 * backend may lack, in write order. It is registered under the new owner tag (fencing the old owner there too), its
 * entries are written again, the result goes to the backend, and only then is the DTL cleared. A DTL that cannot be
 * read leaves the volume as the backend has it; the caller reports that.
 */
export async function replayDtl(v: Volume, stored: StoredDtlConfig, timeouts: DtlTimeouts): Promise<DtlReplay> {
  if (!stored.config) return { status: 'none', entries: 0 };
  const { host, port } = stored.config;
  if (stored.backendComplete) return { status: 'none', entries: 0, host, port, reason: 'the previous owner put everything in the backend' };
  let client: DtlClient | undefined;
  let entries = 0;
  try {
    client = await DtlClient.connect(host, port, { ...timeouts, mode: 'sync' });
    await client.register(v.ns, v.clusterSize, BigInt(v.ownerTag));
    const run = new RunBuilder(v, Math.min(MAX_IO_BYTES, 1 << 20));
    // SCOs up to the backend's last one are in the backend with everything written after them. A DTL that went
    // DEGRADED kept older entries the backend has since overwritten: replaying those would undo acknowledged writes.
    const inBackendUpTo = v.doc.lastScoNumber;
    for await (const e of client.entries()) {
      if (e.location.scoNumber <= inBackendUpTo) continue;
      await run.add(Number(e.lba) * 512, e.data);
      entries++;
    }
    await run.flush();
    if (entries > 0) {
      await scheduleBackendSync(v);
      await v.queue.idle();
      v.checkUsable();
    }
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

import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { LRUCache } from 'lru-cache';
import { headers, type JetStreamClient, type JetStreamManager, type StoredMsg } from 'nats';
import { OvsError } from '../../errors.js';
import { BackendError } from '../../errors/backend.js';
import { paddedBase64Url, token } from './nats-names.js';

/** Where an object's bytes are: written once under a unique Object Store name, never changed. */
export interface StoredObject {
  /** Object Store name `<ns>/<name>@<id>`. */
  o: string;
  /** Its chunks' subject token (`<ns>.<id>`: a namespace's chunks share a subject prefix). */
  n: string;
  /** Size in bytes. */
  z: number;
  /** Chunk size: chunk i holds bytes [i*k, (i+1)*k). */
  k: number;
  /** Stream sequence of each chunk, so a range is read by direct gets of just its chunks. */
  q: number[];
}

interface DirectGets {
  getMessage(stream: string, query: { seq: number }): Promise<StoredMsg>;
}

/** A chunk that is no longer in the stream: the object was replaced and its bytes purged meanwhile. */
export class ChunkGoneError extends Error {}

export interface ChunkStoreOptions {
  chunkSize: number;
  /** Bytes of chunks kept by getRange for the next ranged read (0: none). */
  cacheBytes: number;
  /** Chunk publishes (or reads) of one object in flight at once. */
  window: number;
}

/**
 * The Object Store side: objects in its standard layout (chunks on `$O.<bucket>.C.<nuid>`, a meta message with size,
 * chunk count and SHA-256 on `$O.<bucket>.M.<name>`), so `nats object ls/get` and nats.js `os.get` read them. The
 * upload is done here rather than by `os.put` to learn each chunk's stream sequence (for ranged reads) and to use
 * unique names (the index in KV decides which one a backend name means).
 */
export class ChunkStore {
  readonly stream: string;
  private readonly cache: LRUCache<string, Buffer> | undefined;
  /** nats.js has direct gets on its JetStreamManager without declaring them in the interface. */
  private readonly direct: DirectGets | undefined;

  constructor(private readonly js: JetStreamClient, private readonly jsm: JetStreamManager, readonly bucket: string, private readonly o: ChunkStoreOptions) {
    this.stream = `OBJ_${bucket}`;
    this.direct = (jsm as JetStreamManager & { direct?: DirectGets }).direct;
    this.cache = o.cacheBytes > 0 ? new LRUCache<string, Buffer>({ maxSize: o.cacheBytes, sizeCalculation: (b) => Math.max(1, b.length) }) : undefined;
  }

  async upload(ns: string, name: string, data: Buffer | { path: string }): Promise<StoredObject> {
    const id = randomBytes(9).toString('base64url');
    const obj: StoredObject = { o: `${ns}/${name}@${id}`, n: `${token(ns)}.${id}`, z: 0, k: this.o.chunkSize, q: [] };
    const subject = this.chunkSubject(obj);
    const sha = createHash('sha256');
    const inflight = new Set<Promise<void>>();
    let failed: unknown;
    try {
      for await (const piece of pieces(data, obj.k)) {
        if (failed !== undefined) break;
        sha.update(piece);
        const i = obj.q.push(0) - 1;
        obj.z += piece.length;
        const p: Promise<void> = this.js.publish(subject, piece).then(
          (ack) => void (obj.q[i] = ack.seq),
          (e: unknown) => void (failed ??= e),
        );
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
        if (inflight.size >= this.o.window) await Promise.race(inflight);
      }
      const info = {
        name: obj.o, description: '', options: { max_chunk_size: obj.k }, bucket: this.bucket, nuid: obj.n, size: obj.z, chunks: obj.q.length,
        mtime: new Date().toISOString(), digest: `SHA-256=${paddedBase64Url(sha.digest())}`, deleted: false,
      };
      const h = headers();
      h.set('Nats-Rollup', 'sub');
      // Not after the chunks' acknowledgements: one connection's messages are stored in order anyway, and the meta
      // message only serves other Object Store readers (the index in KV is what makes the object exist here).
      const meta = this.js.publish(this.metaSubject(obj), Buffer.from(JSON.stringify(info)), { headers: h }).then(
        () => undefined,
        (e: unknown) => void (failed ??= e),
      );
      await Promise.all([...inflight, meta]);
      if (failed !== undefined) throw wrapNats(failed, 'upload', ns, name);
      return obj;
    } catch (e) {
      await Promise.all(inflight);
      await this.remove(obj);
      throw wrapNats(e, 'upload', ns, name);
    }
  }

  /** Bytes [offset, offset+length) of an object, clipped at its end. */
  async read(obj: StoredObject, offset: number, length: number, useCache: boolean): Promise<Buffer> {
    const end = Math.min(obj.z, offset + length);
    if (end <= offset) return Buffer.alloc(0);
    const first = Math.floor(offset / obj.k);
    const last = Math.floor((end - 1) / obj.k);
    const out = Buffer.allocUnsafe(end - offset);
    const fetchOne = async (i: number): Promise<void> => {
      const chunk = await this.chunk(obj, i, useCache);
      const from = Math.max(offset, i * obj.k);
      const to = Math.min(end, (i + 1) * obj.k);
      chunk.copy(out, from - offset, from - i * obj.k, to - i * obj.k);
    };
    const pending = Array.from({ length: last - first + 1 }, (_, j) => first + j);
    const workers = Array.from({ length: Math.min(this.o.window, pending.length) }, async () => {
      for (let i = pending.shift(); i !== undefined; i = pending.shift()) await fetchOne(i);
    });
    await Promise.all(workers);
    return out;
  }

  /** Purges an object's chunks and meta message; garbage whose removal failed only wastes space. */
  async remove(obj: StoredObject): Promise<void> {
    for (let i = 0; i < obj.q.length; i++) this.cache?.delete(`${obj.n}/${i}`);
    await Promise.all([
      this.jsm.streams.purge(this.stream, { filter: this.chunkSubject(obj) }),
      this.jsm.streams.purge(this.stream, { filter: this.metaSubject(obj) }),
    ]).catch(() => undefined);
  }

  /** Every chunk of a namespace, including those of uploads that never made it into the index. */
  async purgeNamespace(ns: string): Promise<void> {
    await this.jsm.streams.purge(this.stream, { filter: `$O.${this.bucket}.C.${token(ns)}.>` });
  }

  async purgeMeta(objects: StoredObject[]): Promise<void> {
    const queue = [...objects];
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let obj = queue.pop(); obj; obj = queue.pop()) await this.jsm.streams.purge(this.stream, { filter: this.metaSubject(obj) });
      }),
    );
  }

  private async chunk(obj: StoredObject, i: number, useCache: boolean): Promise<Buffer> {
    const key = `${obj.n}/${i}`;
    const hit = this.cache?.get(key);
    if (hit) return hit;
    const seq = obj.q[i];
    const subject = this.chunkSubject(obj);
    if (seq === undefined) throw new BackendError(`object ${obj.o} has no chunk ${i}`, { name: obj.o });
    // A direct get may be answered by a replica that has not stored the chunk yet: the leader decides.
    let m: StoredMsg | undefined = await this.direct?.getMessage(this.stream, { seq }).catch(() => undefined);
    if (m?.subject !== subject) {
      try {
        m = await this.jsm.streams.getMessage(this.stream, { seq });
      } catch (e) {
        if (!is404(e)) throw e;
        m = undefined;
      }
    }
    if (m?.subject !== subject) throw new ChunkGoneError(`chunk ${i} of ${obj.o} is gone`);
    const data = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
    const expected = Math.min(obj.k, obj.z - i * obj.k);
    if (data.length !== expected) throw new BackendError(`chunk ${i} of ${obj.o} has ${data.length} bytes, not ${expected}`, { name: obj.o });
    if (useCache) this.cache?.set(key, data);
    return data;
  }

  private chunkSubject(obj: StoredObject): string {
    return `$O.${this.bucket}.C.${obj.n}`;
  }

  private metaSubject(obj: StoredObject): string {
    return `$O.${this.bucket}.M.${paddedBase64Url(Buffer.from(obj.o))}`;
  }
}

async function* pieces(data: Buffer | { path: string }, size: number): AsyncGenerator<Buffer> {
  if (Buffer.isBuffer(data)) {
    for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
    return;
  }
  const fh = await fs.open(data.path, 'r');
  try {
    for (;;) {
      const buf = Buffer.allocUnsafe(size);
      let got = 0;
      while (got < size) {
        const { bytesRead } = await fh.read(buf, got, size - got, null);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      if (got > 0) yield got === size ? buf : buf.subarray(0, got);
      if (got < size) return;
    }
  } finally {
    await fh.close();
  }
}

export function is404(e: unknown): boolean {
  const err = e as { code?: string; api_error?: { code?: number } } | undefined;
  return err?.code === '404' || err?.api_error?.code === 404;
}

/** NATS failures are transient from the volume's point of view (retryable BackendError); ours pass through. */
export function wrapNats(e: unknown, op: string, ns?: string, name?: string): Error {
  if (e instanceof OvsError) return e;
  const err = e as { message?: string; code?: string } | undefined;
  return new BackendError(`NATS backend ${op} failed: ${err?.message ?? String(e)}`, { ns, name, code: err?.code });
}

/*
 * A vPool backend on the JetStream of the agents' NATS (volumedriver.md C8, issue 11 item 6): a KV bucket and an
 * Object Store bucket of the same name, one pair per vPool.
 *
 * Bytes: every put uploads a new Object Store object under a unique name `<ns>/<name>@<id>` (standard layout, so
 * `nats object ls/get <bucket>` shows it); nothing is ever overwritten in place. The stream sequence of each chunk is
 * kept, so a ranged read fetches only the chunks it covers (direct gets), through a small cache of chunks.
 *
 * Names: KV key `o.<ns>.<name>` says which object a backend name means (or that it was deleted, or nothing). A put or
 * delete publishes its change by compare-and-set on that key's revision. Key `h.<ns>` is the namespace: it holds the
 * owner_tag document of the latest claim, and a claim replaces it by compare-and-set.
 *
 * Fencing: a fenced write checks that its token names the current head, then writes the key stamped with the claim
 * (the head's revision) it held, and the previous meaning of the key. NATS cannot compare one key and write another
 * atomically, so a claim may land between the check and the write. That write is then void, not merely refused: all
 * keys are in one stream, whose sequence orders them totally, and a write stamped with claim c counts only if its
 * revision is below the revision of the claim that replaced c (the head's `prev`, or the record `s.<ns>.<c>` that a
 * claim writes before replacing the head). Readers read the key, then the head (so the head knows every claim made
 * before that write), and read a void write as the previous meaning it carries. After writing, the writer reads the
 * head again: if its write is void it gets FencedError, and no reader ever sees that write. So a stale owner cannot
 * change any object after a newer claim, whatever the timing; most of its attempts do not even reach the index,
 * since the check made while uploading already fails (and the upload is purged again).
 *
 * Space: an object is purged once a valid write replaced or deleted its name. Deleting a namespace purges its keys
 * and all its chunks (one subject prefix), including those of uploads that died before reaching the index; the meta
 * messages of such uploads stay (a few hundred bytes each).
 */
import type { JetStreamClient } from 'nats';
import { KeyedMutex } from '../registry/keyed-mutex.js';
import { type Backend, BackendRequestError, type FenceToken, FencedError, NamespaceExistsError, NamespaceMissingError, ObjectExistsError, ObjectMissingError, OWNER_TAG_OBJECT, type PutOptions } from './backend.js';
import { BackendError } from '../../errors/backend.js';
import { ChunkGoneError, ChunkStore, type StoredObject, wrapNats } from './nats-chunks.js';
import { etagOf, type EntryAt, type HeadAt, NatsIndex, parseEtag, type Resolved } from './nats-index.js';
import { checkName } from './nats-names.js';

export { backendBucketName } from './nats-names.js';

export interface NatsObjectBackendOptions {
  /** Name of both the KV bucket (index) and the Object Store bucket (bytes). */
  bucket: string;
  /** Replicas of both when this backend creates them (the agents' `kvReplicas`). */
  replicas?: number;
  /** Object Store chunk size (default 256 KiB; at most the server's max_payload). */
  chunkSize?: number;
  /** Chunks kept for ranged reads, in bytes (default 32 MiB). */
  cacheBytes?: number;
}

interface Parts {
  index: NatsIndex;
  chunks: ChunkStore;
}

interface Decision {
  head: HeadAt;
  at: EntryAt | undefined;
  claim: number | null;
  current: Resolved;
}

export class NatsObjectBackend implements Backend {
  private opening: Promise<Parts> | undefined;
  private readonly writes = new KeyedMutex();

  constructor(private readonly js: JetStreamClient, readonly o: NatsObjectBackendOptions) {}

  async createNamespace(ns: string): Promise<void> {
    checkName('namespace', ns);
    const { index } = await this.parts();
    if (!(await guard(index.createHead(ns), 'createNamespace', ns))) throw new NamespaceExistsError(ns);
  }

  async deleteNamespace(ns: string): Promise<void> {
    checkName('namespace', ns);
    const { index, chunks } = await this.parts();
    await guard(
      (async () => {
        if (!(await index.head(ns))) throw new NamespaceMissingError(ns);
        const objects = (await index.scan(ns)).flatMap(({ at }) => [at.entry?.obj, at.entry?.prev]).filter((o) => o !== undefined);
        await chunks.purgeNamespace(ns);
        await chunks.purgeMeta(objects);
        await index.purge(ns);
      })(),
      'deleteNamespace',
      ns,
    );
  }

  async namespaceExists(ns: string): Promise<boolean> {
    checkName('namespace', ns);
    const { index } = await this.parts();
    return (await guard(index.head(ns), 'namespaceExists', ns)) !== undefined;
  }

  async listNamespaces(): Promise<string[]> {
    const { index } = await this.parts();
    return (await guard(index.namespaces(), 'listNamespaces')).sort();
  }

  async list(ns: string, prefix = ''): Promise<string[]> {
    checkName('namespace', ns);
    const { index } = await this.parts();
    return guard(
      (async () => {
        const keys = await index.scan(ns);
        const head = await index.head(ns); // after the keys, as for a single read
        if (!head) throw new NamespaceMissingError(ns);
        const names = head.t === undefined ? [] : [OWNER_TAG_OBJECT];
        for (const { name, at } of keys) if ((await index.resolve(ns, at, head)).obj) names.push(name);
        return names.filter((n) => n.startsWith(prefix)).sort();
      })(),
      'list',
      ns,
    );
  }

  async exists(ns: string, name: string): Promise<boolean> {
    try {
      await this.find(ns, name);
      return true;
    } catch (e) {
      if (e instanceof ObjectMissingError) return false;
      throw e;
    }
  }

  async get(ns: string, name: string): Promise<Buffer> {
    return this.read(ns, name, 0, Number.MAX_SAFE_INTEGER, false);
  }

  async getRange(ns: string, name: string, offset: number, length: number): Promise<Buffer> {
    if (![offset, length].every((v) => Number.isSafeInteger(v) && v >= 0)) throw new BackendRequestError(`bad range ${offset}+${length}`, { ns, name });
    return this.read(ns, name, offset, length, true);
  }

  async size(ns: string, name: string): Promise<number> {
    const found = await this.find(ns, name);
    return Buffer.isBuffer(found) ? found.length : found.z;
  }

  async put(ns: string, name: string, data: Buffer | { path: string }, opts: PutOptions = {}): Promise<void> {
    checkNames(ns, name);
    if (name === OWNER_TAG_OBJECT) throw new BackendRequestError('owner_tag is written by claim() only', { ns, name });
    const { index, chunks } = await this.parts();
    await this.writes.run(`${ns}/${name}`, () =>
      guard(
        (async () => {
          const decideOnce = async (): Promise<Decision> => {
            const d = await this.decide(ns, name, opts.fence);
            if (d.current.obj && !opts.overwrite) throw new ObjectExistsError(ns, name);
            return d;
          };
          // The checks and the upload overlap: a refused put costs an upload that goes again at once.
          const [decided, uploaded] = await Promise.allSettled([decideOnce(), chunks.upload(ns, name, data)]);
          if (decided.status === 'rejected') {
            if (uploaded.status === 'fulfilled') await chunks.remove(uploaded.value);
            throw decided.reason;
          }
          if (uploaded.status === 'rejected') throw uploaded.reason;
          let d = decided.value;
          const obj = uploaded.value;
          // Bytes that may be in the index stay unless the write is known to be void: a write or a confirmation that
          // failed may hide a valid write (the retry of the put replaces it, and purges them then).
          let rev: number | 'conflict';
          while ((rev = await index.write(ns, name, { obj, c: d.claim, i: d.head.i, prev: d.current.obj }, d.at)) === 'conflict') {
            d = await decideOnce().catch(async (e: unknown) => {
              await chunks.remove(obj);
              throw e;
            });
          }
          await this.confirm(ns, opts.fence, d.claim, rev).catch(async (e: unknown) => {
            if (e instanceof FencedError || e instanceof NamespaceMissingError) await chunks.remove(obj);
            throw e;
          });
          await Promise.all(d.current.unreachable.map((o) => chunks.remove(o)));
        })(),
        'put',
        ns,
        name,
      ),
    );
  }

  async delete(ns: string, name: string, opts: { fence?: FenceToken; mayNotExist?: boolean } = {}): Promise<void> {
    checkNames(ns, name);
    if (name === OWNER_TAG_OBJECT) throw new BackendRequestError('owner_tag cannot be deleted (delete the namespace)', { ns, name });
    const { index, chunks } = await this.parts();
    await this.writes.run(`${ns}/${name}`, () =>
      guard(
        (async () => {
          let rev: number | 'conflict' = 'conflict';
          let d: Decision | undefined;
          while (rev === 'conflict') {
            d = await this.decide(ns, name, opts.fence);
            if (!d.current.obj) {
              if (opts.mayNotExist) return;
              throw new ObjectMissingError(ns, name);
            }
            rev = await index.write(ns, name, { c: d.claim, i: d.head.i, prev: d.current.obj }, d.at);
          }
          await this.confirm(ns, opts.fence, d!.claim, rev);
          await Promise.all(d!.current.unreachable.map((o) => chunks.remove(o)));
        })(),
        'delete',
        ns,
        name,
      ),
    );
  }

  async claim(ns: string, ownerTagDoc: Buffer): Promise<FenceToken> {
    checkName('namespace', ns);
    const { index } = await this.parts();
    const head = await guard(index.claim(ns, ownerTagDoc), 'claim', ns);
    if (!head) throw new NamespaceMissingError(ns);
    return { ns, etag: etagOf(head)! };
  }

  /** The current fencing token (undefined: never claimed). */
  async currentEtag(ns: string): Promise<string | undefined> {
    const { index } = await this.parts();
    const head = await guard(index.head(ns), 'currentEtag', ns);
    if (!head) throw new NamespaceMissingError(ns);
    return etagOf(head);
  }

  /** The state a write decides on, after the checks every write makes (namespace, fence). */
  private async decide(ns: string, name: string, fence: FenceToken | undefined): Promise<Decision> {
    const { index } = await this.parts();
    const { at, head } = await index.state(ns, name);
    if (!head) throw new NamespaceMissingError(ns);
    let claim: number | null = null;
    if (fence) {
      const token = parseEtag(fence.etag);
      if (fence.ns !== ns) throw new FencedError(ns, fence.etag, `token of namespace ${fence.ns}`);
      if (!token || token.rev !== head.rev || token.nonce !== head.t) throw new FencedError(ns, fence.etag, etagOf(head));
      claim = token.rev;
    }
    return { head, at, claim, current: await index.resolve(ns, at, head) };
  }

  /** A fenced write stands if its claim was still the latest after it was written. */
  private async confirm(ns: string, fence: FenceToken | undefined, claim: number | null, rev: number): Promise<void> {
    if (!fence || claim === null) return;
    const { index } = await this.parts();
    const head = await index.head(ns);
    if (!head) throw new NamespaceMissingError(ns);
    if (!(await index.isValid(ns, claim, rev, head))) throw new FencedError(ns, fence.etag, etagOf(head));
  }

  /** The object a name means now (the owner_tag document itself for `owner_tag`). */
  private async find(ns: string, name: string): Promise<StoredObject | Buffer> {
    checkNames(ns, name);
    const { index } = await this.parts();
    return guard(
      (async () => {
        if (name === OWNER_TAG_OBJECT) {
          const head = await index.head(ns);
          if (!head) throw new NamespaceMissingError(ns);
          if (head.doc === undefined) throw new ObjectMissingError(ns, name);
          return Buffer.from(head.doc, 'base64');
        }
        const { at, head } = await index.state(ns, name);
        if (!head) throw new NamespaceMissingError(ns);
        const { obj } = await index.resolve(ns, at, head);
        if (!obj) throw new ObjectMissingError(ns, name);
        return obj;
      })(),
      'read',
      ns,
      name,
    );
  }

  /** Reads through a replacement that purged the object being read: the name is resolved again. */
  private async read(ns: string, name: string, offset: number, length: number, cache: boolean): Promise<Buffer> {
    const { chunks } = await this.parts();
    let previous: string | undefined;
    for (;;) {
      const found = await this.find(ns, name);
      if (Buffer.isBuffer(found)) return found.subarray(Math.min(offset, found.length), Math.min(found.length, offset + length));
      if (found.o === previous) throw new BackendError(`the bytes of ${ns}/${name} are missing from the object store`, { ns, name });
      try {
        return await chunks.read(found, offset, length, cache);
      } catch (e) {
        if (!(e instanceof ChunkGoneError)) throw wrapNats(e, 'read', ns, name);
        previous = found.o;
      }
    }
  }

  private parts(): Promise<Parts> {
    this.opening ??= this.open().catch((e: unknown) => {
      this.opening = undefined;
      throw wrapNats(e, 'open');
    });
    return this.opening;
  }

  private async open(): Promise<Parts> {
    const { bucket } = this.o;
    const replicas = this.o.replicas ?? 1;
    // Gets from the stream leader only: a replica's direct get may miss a write that was just acknowledged.
    const kv = await this.js.views.kv(bucket, { history: 1, replicas, allow_direct: false });
    await this.js.views.os(bucket, { replicas });
    const jsm = await this.js.jetstreamManager();
    // A chunk is one message: no larger than the server takes (nats.js knows it without declaring it).
    const maxPayload = (this.js as JetStreamClient & { nc?: { info?: { max_payload?: number } } }).nc?.info?.max_payload ?? Infinity;
    const chunkSize = Math.min(this.o.chunkSize ?? 256 * 1024, maxPayload);
    const chunks = new ChunkStore(this.js, jsm, bucket, { chunkSize, cacheBytes: this.o.cacheBytes ?? 32 * 1024 * 1024, window: 8 });
    return { index: new NatsIndex(kv, this.js, jsm, bucket), chunks };
  }
}

function checkNames(ns: string, name: string): void {
  checkName('namespace', ns);
  checkName('object', name);
}

function guard<T>(p: Promise<T>, op: string, ns?: string, name?: string): Promise<T> {
  return p.catch((e: unknown) => Promise.reject(wrapNats(e, op, ns, name)));
}

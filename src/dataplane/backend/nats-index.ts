import { randomBytes, randomUUID } from 'node:crypto';
import { consumerOpts, type JetStreamClient, type JetStreamManager, type JetStreamSubscription, type KV } from 'nats';
import { isWrongLastSequence } from '../../model/kv-errors.js';
import { BackendError } from '../../errors/backend.js';
import type { StoredObject } from './nats-chunks.js';
import { token, untoken } from './nats-names.js';

/** `h.<ns>`: exists exactly while the namespace does; every claim replaces it (compare-and-set on its revision). */
export interface Head {
  /** Incarnation: keys left by an earlier namespace of the same name (a put racing its deletion) are not this one's. */
  i: string;
  /** Nonce of the latest claim (absent: never claimed). */
  t?: string;
  /** The latest claim's owner_tag document, base64. */
  doc?: string;
  /** Revision of the head this one replaced: that claim ended at this head's revision. */
  prev?: number;
}

export interface HeadAt extends Head {
  rev: number;
}

/** `o.<ns>.<name>`: what a backend name means, published by compare-and-set on the key's revision. */
export interface Entry {
  /** The object written; absent: a deletion. */
  obj?: StoredObject;
  /** Revision of the head (the claim) whose fence the writer held; null: written without a fence. */
  c: number | null;
  i: string;
  /** What the name meant before this write (absent: nothing), for when this write turns out to be fenced. */
  prev?: StoredObject;
}

/** The last message of a key: `entry` is undefined for a KV delete or purge. */
export interface EntryAt {
  rev: number;
  entry: Entry | undefined;
}

export interface Resolved {
  obj: StoredObject | undefined;
  /** Objects of the key that no reader can reach any more once a valid write replaces it. */
  unreachable: StoredObject[];
}

export const etagOf = (h: HeadAt): string | undefined => (h.t === undefined ? undefined : `${h.rev}-${h.t}`);

export function parseEtag(etag: string): { rev: number; nonce: string } | undefined {
  const m = /^(\d+)-(.+)$/.exec(etag);
  return m ? { rev: Number(m[1]), nonce: m[2]! } : undefined;
}

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

/**
 * The KV side of NatsObjectBackend: namespace heads (owner tag and claim chain), one index key per object, and the
 * successor of each past claim (`s.<ns>.<claim revision>` → revision of the claim that replaced it). All keys live in
 * one stream, so their revisions are one total order: "written before the next claim" is a comparison of numbers.
 */
export class NatsIndex {
  readonly stream: string;
  private readonly successors = new Map<string, number>();

  constructor(private readonly kv: KV, private readonly js: JetStreamClient, private readonly jsm: JetStreamManager, readonly bucket: string) {
    this.stream = `KV_${bucket}`;
  }

  async head(ns: string): Promise<HeadAt | undefined> {
    const e = await this.kv.get(headKey(ns));
    if (!e || e.operation !== 'PUT') return undefined;
    return { ...e.json<Head>(), rev: e.revision };
  }

  /** The key, then the head: read in this order, the head knows every claim made before the key's last write. */
  async state(ns: string, name: string): Promise<{ at: EntryAt | undefined; head: HeadAt | undefined }> {
    const e = await this.kv.get(entryKey(ns, name));
    const at = e ? { rev: e.revision, entry: e.operation === 'PUT' ? e.json<Entry>() : undefined } : undefined;
    return { at, head: await this.head(ns) };
  }

  /**
   * A write made under claim `c` counts unless a newer claim came before it. The writer checked `c` was current
   * before writing, but a claim may slip in between: such a write is ignored by every reader (they see `prev`).
   */
  async isValid(ns: string, c: number | null, rev: number, head: HeadAt): Promise<boolean> {
    if (c === null || c === head.rev) return true;
    if (c > head.rev) throw new BackendError(`index of ${ns} names claim ${c}, newer than its head ${head.rev}`, { ns });
    const next = c === head.prev ? head.rev : await this.successor(ns, c);
    return rev < next;
  }

  /** What a key means given the head read after it. */
  async resolve(ns: string, at: EntryAt | undefined, head: HeadAt): Promise<Resolved> {
    const e = at?.entry;
    if (!at || !e) return { obj: undefined, unreachable: [] };
    const unreachable = [e.obj, e.prev].filter((o) => o !== undefined);
    if (e.i !== head.i) return { obj: undefined, unreachable };
    return { obj: (await this.isValid(ns, e.c, at.rev, head)) ? e.obj : e.prev, unreachable };
  }

  /** Compare-and-set of an index key against the state it was decided on; 'conflict' when it changed meanwhile. */
  async write(ns: string, name: string, entry: Entry, at: EntryAt | undefined): Promise<number | 'conflict'> {
    const key = entryKey(ns, name);
    try {
      return at ? await this.kv.update(key, json(entry), at.rev) : await this.kv.create(key, json(entry));
    } catch (e) {
      if (isWrongLastSequence(e)) return 'conflict';
      throw e;
    }
  }

  /** false: the namespace exists already. */
  async createHead(ns: string): Promise<boolean> {
    try {
      await this.kv.create(headKey(ns), json({ i: randomBytes(6).toString('hex') } satisfies Head));
      return true;
    } catch (e) {
      if (isWrongLastSequence(e)) return false;
      throw e;
    }
  }

  /** Replaces the head (compare-and-set); undefined when the namespace does not exist. */
  async claim(ns: string, doc: Buffer): Promise<HeadAt | undefined> {
    for (;;) {
      const h = await this.head(ns);
      if (!h) return undefined;
      // Once the head moves on, `prev` is no longer in it: its successor must be on record first.
      if (h.prev !== undefined) await this.recordSuccessor(ns, h.prev, h.rev);
      const next: Head = { i: h.i, t: randomUUID(), doc: doc.toString('base64'), prev: h.rev };
      let rev: number;
      try {
        rev = await this.kv.update(headKey(ns), json(next), h.rev);
      } catch (e) {
        if (isWrongLastSequence(e)) continue;
        throw e;
      }
      await this.recordSuccessor(ns, h.rev, rev).catch(() => undefined); // the next claim records it otherwise
      return { ...next, rev };
    }
  }

  /** The last message of every index key of a namespace. */
  async scan(ns: string): Promise<Array<{ name: string; at: EntryAt }>> {
    const prefix = `$KV.${this.bucket}.o.${token(ns)}.`;
    const msgs = await this.lastPerSubject(`${prefix}>`);
    return msgs.map((m) => ({
      name: untoken(m.subject.slice(prefix.length)),
      at: { rev: m.seq, entry: m.op === undefined ? (JSON.parse(Buffer.from(m.data).toString('utf8')) as Entry) : undefined },
    }));
  }

  async namespaces(): Promise<string[]> {
    const prefix = `$KV.${this.bucket}.h.`;
    return (await this.lastPerSubject(`${prefix}*`)).filter((m) => m.op === undefined).map((m) => untoken(m.subject.slice(prefix.length)));
  }

  /** Every key of a namespace, the head last: a deletion cut short leaves a namespace that can be deleted again. */
  async purge(ns: string): Promise<void> {
    const t = token(ns);
    await this.jsm.streams.purge(this.stream, { filter: `$KV.${this.bucket}.o.${t}.>` });
    await this.jsm.streams.purge(this.stream, { filter: `$KV.${this.bucket}.s.${t}.>` });
    await this.jsm.streams.purge(this.stream, { filter: `$KV.${this.bucket}.h.${t}` });
    for (const k of [...this.successors.keys()].filter((k) => k.startsWith(`${ns}/`))) this.successors.delete(k);
  }

  private async successor(ns: string, c: number): Promise<number> {
    const cached = this.successors.get(`${ns}/${c}`);
    if (cached !== undefined) return cached;
    const e = await this.kv.get(successorKey(ns, c));
    if (!e || e.operation !== 'PUT') throw new BackendError(`the claim that replaced claim ${c} of ${ns} is not on record`, { ns });
    const next = Number(e.string());
    this.successors.set(`${ns}/${c}`, next);
    return next;
  }

  /** Successors never change: a record that exists already says the same. */
  private async recordSuccessor(ns: string, c: number, next: number): Promise<void> {
    if (this.successors.has(`${ns}/${c}`)) return;
    await this.kv.create(successorKey(ns, c), Buffer.from(String(next))).catch((e: unknown) => {
      if (!isWrongLastSequence(e)) throw e;
    });
    this.successors.set(`${ns}/${c}`, next);
  }

  private async lastPerSubject(subject: string): Promise<Array<{ subject: string; seq: number; data: Uint8Array; op: string | undefined }>> {
    const opts = consumerOpts();
    opts.bindStream(this.stream);
    opts.orderedConsumer();
    opts.deliverLastPerSubject();
    const sub = await this.js.subscribe(subject, opts);
    const out: Array<{ subject: string; seq: number; data: Uint8Array; op: string | undefined }> = [];
    try {
      // What the server said when the consumer was made (nats.js keeps it without declaring it): nothing to wait for.
      if ((sub as JetStreamSubscription & { info?: { last?: { num_pending?: number } } | null }).info?.last?.num_pending === 0) return out;
      for await (const m of sub) {
        out.push({ subject: m.subject, seq: m.seq, data: m.data, op: m.headers?.get('KV-Operation') || undefined });
        if (m.info.pending === 0) break;
      }
      return out;
    } finally {
      sub.unsubscribe();
    }
  }
}

function headKey(ns: string): string {
  return `h.${token(ns)}`;
}

function entryKey(ns: string, name: string): string {
  return `o.${token(ns)}.${token(name)}`;
}

function successorKey(ns: string, c: number): string {
  return `s.${token(ns)}.${c}`;
}

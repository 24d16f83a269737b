import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { KV } from 'nats';
import { isWrongLastSequence } from '../../model/kv-errors.js';
import { Mutex } from '../common/locks.js';

export interface Versioned<T> {
  value: T;
  revision: number;
}

/**
 * The ScrubManager's keys in the vPool's shared registry (C7 `scrub.*`): compare-and-set on a revision, like the
 * registrations. Scrub jobs and leases live here so that every driver of the vPool sees them.
 */
export interface ScrubStore {
  get<T>(key: string): Promise<Versioned<T> | undefined>;
  /** false when the key exists. */
  create<T>(key: string, value: T): Promise<boolean>;
  /** false when the key changed since `revision` (or is gone). */
  update<T>(key: string, value: T, revision: number): Promise<boolean>;
  /** Deletes when the key is still at `revision` (any revision when omitted); false when it was not. */
  delete(key: string, revision?: number): Promise<boolean>;
  keys(prefix: string): Promise<string[]>;
}

/** On the registry's JetStream KV bucket (keys `scrub.…`, which the registry mirror ignores). */
export class KvScrubStore implements ScrubStore {
  constructor(private readonly kv: () => Promise<KV>) {}

  async get<T>(key: string): Promise<Versioned<T> | undefined> {
    const e = await (await this.kv()).get(key);
    if (!e || e.operation !== 'PUT') return undefined;
    return { value: JSON.parse(Buffer.from(e.value).toString('utf8')) as T, revision: e.revision };
  }

  async create<T>(key: string, value: T): Promise<boolean> {
    return casOk(async () => (await this.kv()).create(key, encode(value)));
  }

  async update<T>(key: string, value: T, revision: number): Promise<boolean> {
    return casOk(async () => (await this.kv()).update(key, encode(value), revision));
  }

  async delete(key: string, revision?: number): Promise<boolean> {
    return casOk(async () => (await this.kv()).delete(key, revision === undefined ? undefined : { previousSeq: revision }));
  }

  async keys(prefix: string): Promise<string[]> {
    const out: string[] = [];
    for await (const k of await (await this.kv()).keys(`${prefix}>`)) out.push(k);
    return out;
  }
}

async function casOk(op: () => Promise<unknown>): Promise<boolean> {
  try {
    await op();
    return true;
  } catch (e) {
    if (isWrongLastSequence(e) || /key exists/i.test((e as Error).message ?? '')) return false;
    throw e;
  }
}

function encode(v: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(v));
}

interface FileShape {
  rev: number;
  keys: Record<string, Versioned<unknown>>;
}

/**
 * Beside a FileRegistry (phase 1, one process): a JSON file; drivers that share the registry object share this too.
 * Every change is written before it resolves, so jobs survive a restart.
 */
export class FileScrubStore implements ScrubStore {
  private data: FileShape = { rev: 0, keys: {} };
  private loaded: Promise<void> | undefined;
  private readonly mutex = new Mutex();

  constructor(private readonly path: string) {}

  async get<T>(key: string): Promise<Versioned<T> | undefined> {
    await this.load();
    const e = this.data.keys[key];
    return e ? (structuredClone(e) as Versioned<T>) : undefined;
  }

  create<T>(key: string, value: T): Promise<boolean> {
    return this.change((d) => {
      if (d.keys[key]) return false;
      d.keys[key] = { value: structuredClone(value), revision: ++d.rev };
      return true;
    });
  }

  update<T>(key: string, value: T, revision: number): Promise<boolean> {
    return this.change((d) => {
      if (d.keys[key]?.revision !== revision) return false;
      d.keys[key] = { value: structuredClone(value), revision: ++d.rev };
      return true;
    });
  }

  delete(key: string, revision?: number): Promise<boolean> {
    return this.change((d) => {
      const e = d.keys[key];
      if (!e || (revision !== undefined && e.revision !== revision)) return false;
      delete d.keys[key];
      return true;
    });
  }

  async keys(prefix: string): Promise<string[]> {
    await this.load();
    return Object.keys(this.data.keys).filter((k) => k.startsWith(prefix));
  }

  private load(): Promise<void> {
    this.loaded ??= readFile(this.path, 'utf8').then(
      (t) => void (this.data = JSON.parse(t) as FileShape),
      () => undefined,
    );
    return this.loaded;
  }

  private async change(fn: (d: FileShape) => boolean): Promise<boolean> {
    await this.load();
    return this.mutex.run(async () => {
      if (!fn(this.data)) return false;
      await mkdir(dirname(this.path), { recursive: true });
      const tmp = `${this.path}.tmp`;
      await writeFile(tmp, JSON.stringify(this.data));
      await rename(tmp, this.path);
      return true;
    });
  }
}

/** Retries a read-modify-write on one key until its compare-and-set wins; `fn` returns undefined to leave the key. */
export async function modifyKey<T>(store: ScrubStore, key: string, fn: (current: T | undefined) => T | 'delete' | undefined): Promise<T | undefined> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const cur = await store.get<T>(key);
    const next = fn(cur === undefined ? undefined : cur.value);
    if (next === undefined) return cur?.value;
    if (next === 'delete') {
      if (!cur || (await store.delete(key, cur.revision))) return undefined;
      continue;
    }
    if (cur ? await store.update(key, next, cur.revision) : await store.create(key, next)) return next;
  }
  throw new Error(`scrub registry key ${key}: too many concurrent changes`);
}

import { EventEmitter } from 'node:events';
import type { KV, KvEntry } from 'nats';
import { decode } from '../protocol/codec.js';
import { ObjectNotFoundError } from '../errors.js';
import { relationField, type ModelObject, type ModelReader, type TypeDef } from './schema.js';

interface Stored {
  revision: number;
  obj: ModelObject;
}

/**
 * Watch-fed, in-memory copy of the model bucket with the relation indexes the original kept as reverse-index keys.
 * Writers apply their own writes at once (read-your-writes); the watch brings everyone else's.
 */
export class ModelView extends EventEmitter implements ModelReader {
  private readonly objects = new Map<string, Map<string, Stored>>();
  /** `<target type>.<target guid>.<reverse name>` → guids of the referring objects. */
  private readonly reverseIndex = new Map<string, Set<string>>();
  private readonly typesByName: Map<string, TypeDef>;
  private stopWatch: (() => void) | undefined;

  constructor(types: readonly TypeDef[]) {
    super();
    this.setMaxListeners(0);
    this.typesByName = new Map(types.map((t) => [t.name, t]));
    for (const t of types) this.objects.set(t.name, new Map());
  }

  typeDef(type: string): TypeDef | undefined {
    return this.typesByName.get(type);
  }

  async start(kv: KV): Promise<void> {
    let markReady!: () => void;
    const ready = new Promise<void>((resolve) => (markReady = resolve));
    const iter = await kv.watch({ key: '>', initializedFn: () => markReady() });
    this.stopWatch = () => iter.stop();
    void (async () => {
      for await (const e of iter) this.applyEntry(e);
    })();
    await ready;
  }

  stop(): void {
    this.stopWatch?.();
  }

  applyEntry(e: KvEntry): void {
    const dot = e.key.indexOf('.');
    const type = e.key.slice(0, dot);
    const guid = e.key.slice(dot + 1);
    if (!this.typesByName.has(type)) return;
    if (e.operation === 'DEL' || e.operation === 'PURGE') this.remove(type, guid, e.revision);
    else this.apply(type, guid, e.revision, decode(e.value) as Record<string, unknown>);
  }

  /** Applies a record if it is newer than what we hold. */
  apply(type: string, guid: string, revision: number, record: Record<string, unknown>): void {
    const byGuid = this.objects.get(type);
    if (!byGuid) return;
    const previous = byGuid.get(guid);
    if (previous && previous.revision >= revision) return;
    const obj = Object.freeze({ ...record, guid }) as ModelObject;
    if (previous) this.unindex(type, previous.obj);
    byGuid.set(guid, { revision, obj });
    this.index(type, obj);
    this.emit('change', { type, guid, obj, previous: previous?.obj });
  }

  remove(type: string, guid: string, revision: number): void {
    const byGuid = this.objects.get(type);
    const previous = byGuid?.get(guid);
    if (!byGuid || !previous || previous.revision > revision) return;
    byGuid.delete(guid);
    this.unindex(type, previous.obj);
    this.emit('change', { type, guid, obj: undefined, previous: previous.obj });
  }

  /** Relations of other types that point at `type` (for the linked-object check on delete). */
  typesReferring(type: string): Array<{ type: string; reverse: string }> {
    const out: Array<{ type: string; reverse: string }> = [];
    for (const t of this.typesByName.values()) {
      for (const rel of t.relations) if (rel.target === type) out.push({ type: t.name, reverse: rel.reverse });
    }
    return out;
  }

  revisionOf(type: string, guid: string): number | undefined {
    return this.objects.get(type)?.get(guid)?.revision;
  }

  find(type: string, guid: string): ModelObject | undefined {
    return this.objects.get(type)?.get(guid)?.obj;
  }

  get(type: string, guid: string): ModelObject {
    const obj = this.find(type, guid);
    if (!obj) throw new ObjectNotFoundError(type, guid);
    return obj;
  }

  list(type: string, filter: Record<string, unknown> = {}): ModelObject[] {
    const byGuid = this.objects.get(type);
    if (!byGuid) return [];
    const conditions = Object.entries(filter);
    const out: ModelObject[] = [];
    for (const { obj } of byGuid.values()) {
      if (conditions.every(([k, v]) => obj[k] === v)) out.push(obj);
    }
    return out;
  }

  reverse(targetType: string, targetGuid: string, reverseName: string): ModelObject[] {
    const guids = this.reverseIndex.get(`${targetType}.${targetGuid}.${reverseName}`);
    if (!guids) return [];
    const out: ModelObject[] = [];
    for (const key of guids) {
      const [type, guid] = splitKey(key);
      const obj = this.find(type, guid);
      if (obj) out.push(obj);
    }
    return out;
  }

  private index(type: string, obj: ModelObject): void {
    for (const rel of this.typesByName.get(type)?.relations ?? []) {
      const target = obj[relationField(rel)];
      if (typeof target !== 'string') continue;
      const k = `${rel.target}.${target}.${rel.reverse}`;
      let set = this.reverseIndex.get(k);
      if (!set) this.reverseIndex.set(k, (set = new Set()));
      set.add(`${type}.${obj.guid}`);
    }
  }

  private unindex(type: string, obj: ModelObject): void {
    for (const rel of this.typesByName.get(type)?.relations ?? []) {
      const target = obj[relationField(rel)];
      if (typeof target !== 'string') continue;
      const k = `${rel.target}.${target}.${rel.reverse}`;
      const set = this.reverseIndex.get(k);
      set?.delete(`${type}.${obj.guid}`);
      if (set?.size === 0) this.reverseIndex.delete(k);
    }
  }
}

function splitKey(key: string): [string, string] {
  const dot = key.indexOf('.');
  return [key.slice(0, dot), key.slice(dot + 1)];
}

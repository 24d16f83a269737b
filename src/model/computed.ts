import { LRUCache } from 'lru-cache';
import type { DynamicDef, ModelObject } from './schema.js';
import type { ModelView } from './view.js';

const isPromise = (v: unknown): v is Promise<unknown> => v instanceof Promise;

/**
 * Computed fields (the original's "dynamics") with per-field cache lifetimes. A change of the object drops its
 * cached values, so a TTL only bounds staleness caused by things outside the object (heartbeats ageing, the host).
 * A field may be asynchronous (its compute returns a Promise, e.g. it asks an MDS service): `expandSettled` awaits
 * it; the synchronous `expand` shows its last settled value (null before the first) and starts a refresh when due.
 */
export class ComputedFields {
  private readonly cache = new LRUCache<string, { value: unknown }>({ max: 50_000 });
  /** Last settled value of each asynchronous field, kept across invalidation so synchronous readers see something. */
  private readonly settled = new LRUCache<string, { value: unknown }>({ max: 50_000 });

  /** `extra`: computed fields that need this agent's services (the data plane), per type. */
  constructor(private readonly view: ModelView, private readonly extra: Record<string, Record<string, DynamicDef>> = {}) {
    view.on('change', ({ type, guid }: { type: string; guid: string }) => this.invalidate(type, guid));
  }

  private dynamicsOf(type: string): Record<string, DynamicDef> | undefined {
    const own = this.view.typeDef(type)?.dynamics;
    const extra = this.extra[type];
    return own || extra ? { ...own, ...extra } : undefined;
  }

  /** The object with the computed fields marked `inList` (model-only, synchronous) filled in: a list entry. */
  listEntry(type: string, obj: ModelObject): Record<string, unknown> {
    const out: Record<string, unknown> = { ...obj };
    for (const [name, def] of Object.entries(this.dynamicsOf(type) ?? {})) if (def.inList) out[name] = def.compute(obj, this.view);
    return out;
  }

  /** The object with every computed field of its type filled in; asynchronous ones as last settled. */
  expand(type: string, obj: ModelObject): Record<string, unknown> {
    const out = this.compute(type, obj);
    for (const [name, v] of Object.entries(out)) if (isPromise(v)) out[name] = this.settled.get(`${type}.${obj.guid}.${name}`)?.value ?? null;
    return out;
  }

  /** The object with every computed field of its type filled in, asynchronous ones awaited. */
  async expandSettled(type: string, obj: ModelObject): Promise<Record<string, unknown>> {
    const out = this.compute(type, obj);
    await Promise.all(Object.entries(out).map(async ([name, v]) => {
      if (isPromise(v)) out[name] = await v;
    }));
    return out;
  }

  private compute(type: string, obj: ModelObject): Record<string, unknown> {
    const dynamics = this.dynamicsOf(type);
    const out: Record<string, unknown> = { ...obj };
    for (const [name, dyn] of Object.entries(dynamics ?? {})) {
      const key = `${type}.${obj.guid}.${name}`;
      const hit = dyn.ttlMs > 0 ? this.cache.get(key) : undefined;
      if (hit) {
        out[name] = hit.value;
        continue;
      }
      let value = dyn.compute(obj, this.view);
      if (isPromise(value)) {
        // A failed asynchronous field reads as null; it must never become an unhandled rejection.
        value = value.then((v) => {
          this.settled.set(key, { value: v });
          return v;
        }, () => null);
      }
      if (dyn.ttlMs > 0) this.cache.set(key, { value }, { ttl: dyn.ttlMs });
      out[name] = value;
    }
    return out;
  }

  invalidate(type: string, guid: string): void {
    const dynamics = this.dynamicsOf(type);
    if (!dynamics) return;
    for (const name of Object.keys(dynamics)) this.cache.delete(`${type}.${guid}.${name}`);
  }
}

import { LRUCache } from 'lru-cache';
import type { DynamicDef, ModelObject } from './schema.js';
import type { ModelView } from './view.js';

/**
 * Computed fields (the original's "dynamics") with per-field cache lifetimes. A change of the object drops its
 * cached values, so a TTL only bounds staleness caused by things outside the object (heartbeats ageing, the host).
 */
export class ComputedFields {
  private readonly cache = new LRUCache<string, { value: unknown }>({ max: 50_000 });

  /** `extra`: computed fields that need this agent's services (the data plane), per type. */
  constructor(private readonly view: ModelView, private readonly extra: Record<string, Record<string, DynamicDef>> = {}) {
    view.on('change', ({ type, guid }: { type: string; guid: string }) => this.invalidate(type, guid));
  }

  private dynamicsOf(type: string): Record<string, DynamicDef> | undefined {
    const own = this.view.typeDef(type)?.dynamics;
    const extra = this.extra[type];
    return own || extra ? { ...own, ...extra } : undefined;
  }

  /** The object with every computed field of its type filled in. */
  expand(type: string, obj: ModelObject): Record<string, unknown> {
    const dynamics = this.dynamicsOf(type);
    if (!dynamics) return { ...obj };
    const out: Record<string, unknown> = { ...obj };
    for (const [name, dyn] of Object.entries(dynamics)) {
      const key = `${type}.${obj.guid}.${name}`;
      const hit = dyn.ttlMs > 0 ? this.cache.get(key) : undefined;
      if (hit) {
        out[name] = hit.value;
        continue;
      }
      const value = dyn.compute(obj, this.view);
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

import { createHash } from 'node:crypto';
import type { KV } from 'nats';
import { decode, encode } from '../protocol/codec.js';
import { UniqueConstraintError } from '../errors.js';
import { isWrongLastSequence } from './kv-errors.js';
import type { ModelView } from './view.js';

export function uniqueKey(type: string, prop: string, value: unknown): string {
  const digest = createHash('sha1').update(String(value)).digest('hex');
  return `unique.${type}.${prop}.${digest}`;
}

/**
 * Unique values are claimed with a reservation key created at revision 0, before the record is written.
 * A claim left behind by a writer that died between claim and record is stale: its owner does not hold the value
 * and the claim is older than `staleAfterMs` (younger ones may belong to a create still in flight), so it is taken
 * over with a compare-and-set instead of blocking the value forever.
 */
export class UniqueClaims {
  constructor(private readonly kv: KV, private readonly view: ModelView, private readonly staleAfterMs = 30_000) {}

  async claim(type: string, prop: string, value: unknown, guid: string): Promise<void> {
    const key = uniqueKey(type, prop, value);
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await this.kv.create(key, encode({ guid }));
        return;
      } catch (e) {
        if (!isWrongLastSequence(e)) throw e;
      }
      const entry = await this.kv.get(key);
      if (!entry || entry.operation !== 'PUT') continue;
      const holder = (decode(entry.value) as { guid?: string }).guid;
      if (holder === guid) return;
      const holderObj = holder === undefined ? undefined : this.view.find(type, holder);
      const young = Date.now() - entry.created.getTime() < this.staleAfterMs;
      if (young || (holderObj && holderObj[prop] === value)) throw new UniqueConstraintError(type, prop, value);
      try {
        await this.kv.update(key, encode({ guid }), entry.revision);
        return;
      } catch (e) {
        if (!isWrongLastSequence(e)) throw e;
      }
    }
    throw new UniqueConstraintError(type, prop, value);
  }

  /** The object that holds a unique value (read from the claim, so it is right even before this agent's view is). */
  async holderOf(type: string, prop: string, value: unknown): Promise<string | undefined> {
    const entry = await this.kv.get(uniqueKey(type, prop, value));
    return entry && entry.operation === 'PUT' ? (decode(entry.value) as { guid?: string }).guid : undefined;
  }

  /** Releases a claim only when it is still ours. */
  async release(type: string, prop: string, value: unknown, guid: string): Promise<void> {
    const key = uniqueKey(type, prop, value);
    const entry = await this.kv.get(key);
    if (!entry || entry.operation !== 'PUT') return;
    if ((decode(entry.value) as { guid?: string }).guid !== guid) return;
    try {
      await this.kv.delete(key, { previousSeq: entry.revision });
    } catch (e) {
      if (!isWrongLastSequence(e)) throw e;
    }
  }
}

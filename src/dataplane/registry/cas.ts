import { setTimeout as sleep } from 'node:timers/promises';
import type { KV } from 'nats';
import { RaceConditionError } from '../../errors.js';
import { isWrongLastSequence } from '../../model/kv-errors.js';
import { KeyedMutex } from './keyed-mutex.js';
import { decodeValue, encodeValue } from './keys.js';
import type { RegistryMirror } from './mirror.js';

/** What to do with a key, given a private copy of its value (undefined: absent). */
export type Decision<T> = { put: T } | 'delete' | 'keep';

export interface CasResult<T> {
  /** The value the decision was made on (the mirror's frozen object). */
  before: T | undefined;
  after: T | undefined;
  /** false when the decision was to keep the key as it is. */
  written: boolean;
}

const RETRY = Symbol('retry');

/**
 * Read-modify-write of one key with compare-and-set on its revision. The first try decides on the mirror; a lost
 * race, or a decision not to write (keep or throw) taken on the mirror, reads the key from the server and decides
 * again, so nothing is skipped or refused on a copy that lags. Writes of one process to one key queue locally, so
 * only other processes make a compare-and-set fail.
 */
export class CasWriter {
  private readonly queues = new KeyedMutex();

  constructor(private readonly kv: KV, private readonly mirror: RegistryMirror, private readonly maxAttempts: number) {}

  modify<T>(key: string, decide: (current: T | undefined) => Decision<T>): Promise<CasResult<T>> {
    return this.queues.run(key, async () => {
      let fresh = false;
      for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
        const outcome = await this.tryOnce(key, decide, fresh);
        if (outcome === RETRY || outcome === 'conflict') {
          if (outcome === 'conflict') await sleep(Math.random() * Math.min(50, 2 * attempt));
          await this.refresh(key);
          fresh = true;
          continue;
        }
        return outcome;
      }
      throw new RaceConditionError(key, this.maxAttempts);
    });
  }

  /** Brings the mirror's copy of `key` up to the server's (a newer copy the watch already brought stays). */
  async refresh(key: string): Promise<void> {
    const e = await this.kv.get(key);
    if (e) this.mirror.apply(key, e.revision, e.operation === 'PUT' ? decodeValue(key, e.value) : undefined);
  }

  private async tryOnce<T>(key: string, decide: (current: T | undefined) => Decision<T>, fresh: boolean): Promise<CasResult<T> | typeof RETRY | 'conflict'> {
    const held = this.mirror.current(key);
    const before = held?.value as T | undefined;
    let decision: Decision<T>;
    try {
      decision = decide(held === undefined ? undefined : (structuredClone(held.value) as T));
    } catch (e) {
      if (!fresh) return RETRY;
      throw e;
    }
    if (decision === 'keep') return fresh ? { before, after: before, written: false } : RETRY;
    try {
      if (decision === 'delete') {
        if (!held) return { before, after: undefined, written: false };
        await this.kv.delete(key, { previousSeq: held.revision });
        // The delete marker's own revision is not returned; it is above the deleted value's, which is all the mirror needs.
        this.mirror.apply(key, held.revision + 1, undefined);
        return { before, after: undefined, written: true };
      }
      const bytes = encodeValue(decision.put);
      const revision = held ? await this.kv.update(key, bytes, held.revision) : await this.kv.create(key, bytes);
      this.mirror.apply(key, revision, decision.put);
      return { before, after: decision.put, written: true };
    } catch (e) {
      if (isWrongLastSequence(e)) return 'conflict';
      throw e;
    }
  }
}

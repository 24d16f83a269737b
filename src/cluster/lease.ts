import { EventEmitter } from 'node:events';
import type { KV } from 'nats';
import { decode, encode } from '../protocol/codec.js';
import { isWrongLastSequence } from '../model/kv-errors.js';

export interface LeaseRecord {
  holder: string;
  /** Holder's wall clock at the last renewal; informative only, expiry never compares clocks. */
  ts: number;
}

/**
 * A cluster lease on a KV key (nats-server 2.9 has no per-key TTL). The holder renews every ttl/3 with
 * compare-and-set. A contender treats the lease as expired when the key's revision has not moved for a whole ttl
 * on the contender's own monotonic clock, so clock skew between hosts cannot make two holders.
 */
export class Lease extends EventEmitter {
  private timer: NodeJS.Timeout | undefined;
  private held = false;
  private revision = 0;
  private observed: { revision: number; since: number } | undefined;
  private stopped = false;

  constructor(
    private readonly kv: KV,
    readonly key: string,
    private readonly me: string,
    private readonly ttlMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    super();
  }

  get isHeld(): boolean {
    return this.held;
  }

  start(): void {
    this.stopped = false;
    void this.tick();
  }

  /** Stops contending; a held lease is released so another agent takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.held) {
      this.held = false;
      this.emit('released');
      await this.kv.delete(this.key, { previousSeq: this.revision }).catch(() => undefined);
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), Math.max(50, Math.floor(this.ttlMs / 3)));
  }

  private async tick(): Promise<void> {
    try {
      await this.step();
    } catch (e) {
      if (this.held && !isWrongLastSequence(e)) {
        // KV unreachable: keep serving until our own ttl would have let someone else in.
        if (this.observed && this.now() - this.observed.since > this.ttlMs * 0.8) this.setHeld(false);
      }
      this.emit('error', e);
    } finally {
      this.schedule();
    }
  }

  private async step(): Promise<void> {
    const record = encode({ holder: this.me, ts: Date.now() } satisfies LeaseRecord);
    if (this.held) {
      try {
        this.revision = await this.kv.update(this.key, record, this.revision);
        this.observed = { revision: this.revision, since: this.now() };
      } catch (e) {
        if (!isWrongLastSequence(e)) throw e;
        this.setHeld(false);
      }
      return;
    }
    const entry = await this.kv.get(this.key);
    if (!entry || entry.operation !== 'PUT') {
      await this.claim(() => this.kv.create(this.key, record));
      return;
    }
    const current = decode(entry.value) as LeaseRecord;
    if (current.holder === this.me) {
      // Our own lease from before a restart: take it back at once.
      await this.claim(() => this.kv.update(this.key, record, entry.revision));
      return;
    }
    if (!this.observed || this.observed.revision !== entry.revision) {
      this.observed = { revision: entry.revision, since: this.now() };
      return;
    }
    if (this.now() - this.observed.since >= this.ttlMs) await this.claim(() => this.kv.update(this.key, record, entry.revision));
  }

  private async claim(write: () => Promise<number>): Promise<void> {
    try {
      this.revision = await write();
    } catch (e) {
      if (isWrongLastSequence(e)) return;
      throw e;
    }
    this.observed = { revision: this.revision, since: this.now() };
    this.setHeld(true);
  }

  private setHeld(held: boolean): void {
    if (held === this.held) return;
    this.held = held;
    this.emit(held ? 'acquired' : 'lost');
  }
}

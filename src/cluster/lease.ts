import { EventEmitter } from 'node:events';
import type { KV } from 'nats';
import { decode, encode } from '../protocol/codec.js';
import { isWrongLastSequence } from '../model/kv-errors.js';
import { STEP_DOWN_SHARE, contenderMove, holderMustStepDown, type KeyState, type Sighting } from './lease-rules.js';

export interface LeaseRecord {
  holder: string;
  /** Holder's wall clock at the last renewal; informative only, expiry never compares clocks. */
  ts: number;
}

/**
 * A cluster lease on a KV key (nats-server 2.9 has no per-key TTL). The holder renews every ttl/3 with
 * compare-and-set. A contender treats the lease as expired when the key's revision has not moved for a whole ttl
 * on the contender's own monotonic clock, so clock skew between hosts cannot make two holders; the decisions are
 * in lease-rules.ts. Events: `acquired`, `lost`, `released`, `error`.
 */
export class Lease extends EventEmitter {
  private timer: NodeJS.Timeout | undefined;
  private stepDownTimer: NodeJS.Timeout | undefined;
  private held = false;
  private revision = 0;
  private renewedAt = 0;
  private sighting: Sighting | undefined;
  private stopped = false;

  constructor(
    private readonly kv: KV,
    readonly key: string,
    private readonly me: string,
    private readonly ttlMs: number,
    /** Monotonic milliseconds; injected by tests. */
    private readonly now: () => number = () => performance.now(),
  ) {
    super();
  }

  get isHeld(): boolean {
    return this.held;
  }

  start(): void {
    this.stopped = false;
    void this.loop();
  }

  /** Stops contending; a held lease is released so another agent takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.stepDownTimer);
    if (this.held) {
      this.held = false;
      this.emit('released');
      await this.deleteOwn();
    }
  }

  /** One round: renew when held, otherwise read the key and make the contender's move. `start()` runs one every ttl/3. */
  async round(): Promise<void> {
    this.stepDownIfStale();
    if (this.held) await this.renew();
    else await this.contend();
  }

  private async loop(): Promise<void> {
    try {
      await this.round();
    } catch (e) {
      this.emit('error', e);
    } finally {
      if (!this.stopped) this.timer = setTimeout(() => void this.loop(), Math.max(50, Math.floor(this.ttlMs / 3)));
    }
  }

  private async renew(): Promise<void> {
    if (!(await this.write(this.revision))) this.setHeld(false);
  }

  private async contend(): Promise<void> {
    const entry = await this.kv.get(this.key);
    const key: KeyState | undefined = entry?.operation === 'PUT' ? { holder: (decode(entry.value) as LeaseRecord).holder, revision: entry.revision } : undefined;
    const next = contenderMove(key, this.me, this.sighting, this.now(), this.ttlMs);
    if (next.move === 'wait') {
      this.sighting = next.sighting;
      return;
    }
    if (await this.write(next.move === 'create' ? 'new' : next.revision)) this.setHeld(true);
  }

  /** Writes this agent's record by compare-and-set on `after`; false when another writer won or stop() came first. */
  private async write(after: number | 'new'): Promise<boolean> {
    const record = encode({ holder: this.me, ts: Date.now() } satisfies LeaseRecord);
    const sentAt = this.now();
    try {
      this.revision = after === 'new' ? await this.kv.create(this.key, record) : await this.kv.update(this.key, record, after);
    } catch (e) {
      if (isWrongLastSequence(e)) return false;
      throw e;
    }
    if (this.stopped) {
      // stop() ran while the write was under way: give the lease back instead of (re)starting a singleton.
      await this.deleteOwn();
      return false;
    }
    this.renewedAt = sentAt;
    this.sighting = undefined;
    this.watchRenewal();
    return true;
  }

  /** Rounds wait for the KV, which may hang far longer than a ttl; the step-down must not wait with them. */
  private watchRenewal(): void {
    clearTimeout(this.stepDownTimer);
    const left = this.renewedAt + this.ttlMs * STEP_DOWN_SHARE - this.now();
    this.stepDownTimer = setTimeout(() => {
      this.stepDownIfStale();
      if (this.held) this.watchRenewal();
    }, Math.max(1, Math.ceil(left)));
    this.stepDownTimer.unref();
  }

  private stepDownIfStale(): void {
    if (this.held && holderMustStepDown(this.renewedAt, this.now(), this.ttlMs)) this.setHeld(false);
  }

  private async deleteOwn(): Promise<void> {
    await this.kv.delete(this.key, { previousSeq: this.revision }).catch(() => undefined);
  }

  private setHeld(held: boolean): void {
    if (held === this.held) return;
    this.held = held;
    this.emit(held ? 'acquired' : 'lost');
  }
}

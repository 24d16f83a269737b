import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ScrubBusyError } from '../errors.js';
import { modifyKey, type ScrubStore } from './store.js';

export const LEASE_PREFIX = 'scrub.lease.';

interface LeaseValue {
  holder: string;
  /** Epoch ms; a lease not refreshed by then is free (its holder died). */
  expiresAt: number;
}

export interface LeaseOptions {
  ttlMs: number;
  /** How long `acquire` waits for a held lease before ScrubBusyError. */
  waitMs: number;
  pollMs: number;
  now?: () => number;
}

/**
 * The per-volume scrub lease (A16 `make_locked_client`): a registry key with an expiry that its holder refreshes.
 * Scrubbing, applying and snapshot deletion of one volume hold it, so they never overlap.
 */
export class ScrubLeases {
  private readonly now: () => number;

  constructor(private readonly store: ScrubStore, private readonly who: string, private readonly o: LeaseOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Runs `fn` while holding the volume's lease; waits up to `waitMs` for it, then throws ScrubBusyError. */
  async with<T>(volumeId: string, fn: () => Promise<T>, waitMs = this.o.waitMs): Promise<T> {
    const holder = `${this.who}:${randomUUID()}`;
    const key = LEASE_PREFIX + volumeId;
    // Waiting is measured on this process's monotonic clock; expiry (shared between processes) on `now`.
    const deadline = performance.now() + waitMs;
    for (;;) {
      const got = await this.tryTake(key, holder);
      if (got === true) break;
      if (performance.now() >= deadline) {
        throw new ScrubBusyError(`volume ${volumeId} is under a scrub lease held by ${got}`, { volume_id: volumeId, holder: got, waited_ms: waitMs });
      }
      await sleep(this.o.pollMs);
    }
    const refresher = setInterval(() => void this.refresh(key, holder).catch(() => undefined), Math.max(1, Math.floor(this.o.ttlMs / 3)));
    refresher.unref();
    try {
      return await fn();
    } finally {
      clearInterval(refresher);
      await modifyKey<LeaseValue>(this.store, key, (cur) => (cur?.holder === holder ? 'delete' : undefined)).catch(() => undefined);
    }
  }

  /** Who holds the volume's lease now (undefined: nobody, or an expired holder). */
  async holder(volumeId: string): Promise<string | undefined> {
    const cur = await this.store.get<LeaseValue>(LEASE_PREFIX + volumeId);
    return cur && cur.value.expiresAt > this.now() ? cur.value.holder : undefined;
  }

  /** true when taken, else the current holder. */
  private async tryTake(key: string, holder: string): Promise<true | string> {
    let busy: string | undefined;
    await modifyKey<LeaseValue>(this.store, key, (cur) => {
      busy = undefined;
      if (cur && cur.expiresAt > this.now() && cur.holder !== holder) {
        busy = cur.holder;
        return undefined;
      }
      return { holder, expiresAt: this.now() + this.o.ttlMs };
    });
    return busy ?? true;
  }

  private async refresh(key: string, holder: string): Promise<void> {
    await modifyKey<LeaseValue>(this.store, key, (cur) => (cur?.holder === holder ? { holder, expiresAt: this.now() + this.o.ttlMs } : undefined));
  }
}

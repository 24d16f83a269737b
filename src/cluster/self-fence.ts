import type { Logger } from 'pino';
import type { IoFence } from '../dataplane/common/io-fence.js';

/** Share of the offline timeout this node serves I/O after the send time of its last heartbeat the server took. */
const SERVE_SHARE = 0.75;
/** Heartbeats per serving window, so one late beat does not close it. */
const BEATS_PER_WINDOW = 3;
const DEFAULT_OFFLINE_AFTER_MS = 10_000;

export interface SelfFenceOptions {
  /** Checks every volume this node runs against the stored registry and halts the ones another node took over. */
  revalidate(): Promise<void>;
  log: Logger;
  clock?: () => number;
}

/**
 * The I/O lease of this node. The failure detector declares a node offline once it has not seen a heartbeat for the
 * offline timeout, then fails its vDisks over. This node serves I/O only until SERVE_SHARE of that timeout after the
 * *send* time of its latest heartbeat that the NATS server confirmed (a detector cannot have seen an older one last and
 * still count from later), on the monotonic clock, which keeps running while the process is stopped. Once the lease
 * lapsed, a confirmed heartbeat is not enough: every volume is checked against the stored registry first (halting
 * those another node took), and only then does I/O resume.
 */
export class SelfFence implements IoFence {
  private confirmedSentAt: number | undefined;
  private offlineAfterMs = DEFAULT_OFFLINE_AFTER_MS;
  private revalidated = false;
  private revalidating: Promise<void> | undefined;
  private waiters = new Set<() => void>();
  private readonly clock: () => number;

  constructor(private readonly o: SelfFenceOptions) {
    this.clock = o.clock ?? (() => performance.now());
  }

  setOfflineAfterMs(ms: number): void {
    if (Number.isFinite(ms) && ms > 0) this.offlineAfterMs = ms;
  }

  /** How often to send heartbeats so the window stays open (at most `configuredMs`). */
  beatEveryMs(configuredMs: number): number {
    return Math.max(100, Math.min(configuredMs, Math.floor(this.windowMs() / BEATS_PER_WINDOW)));
  }

  windowMs(): number {
    return this.offlineAfterMs * SERVE_SHARE;
  }

  isOpen(): boolean {
    return this.revalidated && this.leaseHolds();
  }

  /** A heartbeat sent at `sentAt` (this clock) reached the NATS server. */
  confirmed(sentAt: number): void {
    if (!this.leaseHolds()) this.revalidated = false;
    this.confirmedSentAt = Math.max(this.confirmedSentAt ?? -Infinity, sentAt);
    if (!this.revalidated) this.startRevalidation();
    else this.wake();
  }

  untilOpen(timeoutMs: number): Promise<boolean> {
    if (this.isOpen()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const done = (): void => {
        if (!this.isOpen()) return;
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(done);
        resolve(this.isOpen());
      }, timeoutMs);
      this.waiters.add(done);
    });
  }

  private leaseHolds(): boolean {
    return this.confirmedSentAt !== undefined && this.clock() < this.confirmedSentAt + this.windowMs();
  }

  private startRevalidation(): void {
    if (this.revalidating) return;
    const lapsedAt = this.confirmedSentAt;
    this.revalidating = this.o.revalidate().then(
      () => {
        this.revalidated = true;
        this.o.log.info({ confirmed_heartbeat_ms_ago: lapsedAt === undefined ? null : Math.round(this.clock() - lapsedAt) }, 'I/O lease confirmed: this node serves its volumes');
        this.wake();
      },
      (e: unknown) => this.o.log.warn({ err: e }, 'I/O lease: the registry check failed; I/O stays paused until the next heartbeat'),
    ).finally(() => (this.revalidating = undefined));
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

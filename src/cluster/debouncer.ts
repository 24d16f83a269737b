export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Runs `fire(key)` once `delayMs` after the last `touch(key)`: a burst of changes to one key makes one run. */
export class Debouncer<K> {
  private readonly pending = new Map<K, unknown>();

  constructor(
    private readonly delayMs: number,
    private readonly fire: (key: K) => void,
    private readonly timers: Timers = realTimers,
  ) {}

  touch(key: K): void {
    const earlier = this.pending.get(key);
    if (earlier !== undefined) this.timers.clearTimeout(earlier);
    this.pending.set(key, this.timers.setTimeout(() => {
      this.pending.delete(key);
      this.fire(key);
    }, this.delayMs));
  }

  stop(): void {
    for (const h of this.pending.values()) this.timers.clearTimeout(h);
    this.pending.clear();
  }
}

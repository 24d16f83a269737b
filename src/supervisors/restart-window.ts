/**
 * Restart intensity: at most `maxRestarts` crashes within `periodMs` (OTP's intensity/period). Pure, clock injected.
 */
export class RestartWindow {
  private readonly crashes: number[] = [];

  constructor(private readonly maxRestarts: number, private readonly periodMs: number) {}

  /** Records a crash at `now`; false when the intensity is exceeded and the actor must not be restarted. */
  record(now: number): boolean {
    this.crashes.push(now);
    while (this.crashes.length > 0 && now - this.crashes[0]! > this.periodMs) this.crashes.shift();
    return this.crashes.length <= this.maxRestarts;
  }

  /** Crashes in the current window (drives the backoff). */
  get recent(): number {
    return this.crashes.length;
  }
}

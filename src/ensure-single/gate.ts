import type { EnsureSingleMode } from '../tasks/define.js';

export type GateDecision =
  | { kind: 'start' }
  | { kind: 'wait' }
  /** DEFAULT: something of this task runs; the request is dropped. */
  | { kind: 'discarded'; runningId: string }
  /** DEDUPED/CHAINED: two identical requests are already registered; this one is covered by `coveredBy`. */
  | { kind: 'coalesced'; coveredBy: string };

interface Registration {
  id: string;
  key: string;
  running: boolean;
}

/**
 * ensure_single as a mailbox-side state machine for one task name at one owner (pure; the owning actor feeds it).
 * - DEFAULT: one run at a time; anything arriving meanwhile is discarded (no waiting).
 * - DEDUPED: per argument key, one running and one waiting; different keys run in parallel.
 * - CHAINED: one FIFO for all keys, one run at a time; per key the same limit of two registrations.
 * The original's limit of two identical registrations (running or waiting) is kept; a third is coalesced onto the
 * newest identical waiting one, which starts after the request arrived and so covers it.
 */
export class TaskGate {
  private readonly registrations: Registration[] = [];

  constructor(readonly mode: Exclude<EnsureSingleMode, 'NONE'>) {}

  offer(id: string, key: string): GateDecision {
    if (this.mode === 'DEFAULT') {
      const running = this.registrations[0];
      if (running) return { kind: 'discarded', runningId: running.id };
      this.registrations.push({ id, key, running: true });
      return { kind: 'start' };
    }
    const identical = this.registrations.filter((r) => r.key === key);
    if (identical.length >= 2) return { kind: 'coalesced', coveredBy: identical[identical.length - 1]!.id };
    const registration: Registration = { id, key, running: false };
    this.registrations.push(registration);
    if (this.canStart(registration)) {
      registration.running = true;
      return { kind: 'start' };
    }
    return { kind: 'wait' };
  }

  /** A run ended; returns the ids that may start now (in order). */
  finish(id: string): string[] {
    this.remove(id);
    return this.startable();
  }

  /** A waiting registration gave up (start timeout); returns false when it had already started. */
  cancel(id: string): boolean {
    const r = this.registrations.find((x) => x.id === id);
    if (!r || r.running) return false;
    this.remove(id);
    return true;
  }

  get size(): number {
    return this.registrations.length;
  }

  running(): string[] {
    return this.registrations.filter((r) => r.running).map((r) => r.id);
  }

  private startable(): string[] {
    const started: string[] = [];
    for (const r of this.registrations) {
      if (!r.running && this.canStart(r)) {
        r.running = true;
        started.push(r.id);
      }
    }
    return started;
  }

  private canStart(r: Registration): boolean {
    if (this.mode === 'CHAINED') return this.registrations[0] === r;
    return !this.registrations.some((x) => x !== r && x.key === r.key && x.running) && this.firstWithKey(r.key) === r;
  }

  private firstWithKey(key: string): Registration | undefined {
    return this.registrations.find((x) => x.key === key);
  }

  private remove(id: string): void {
    const i = this.registrations.findIndex((r) => r.id === id);
    if (i >= 0) this.registrations.splice(i, 1);
  }
}

/**
 * The dedupe key: the arguments minus ignored ones, in a stable order. An argument passed as null counts as not
 * passed: the original keyed `f()` and `f(x=None)` differently (⚠ in its spec) so they never deduplicated.
 */
export function dedupeKey(params: Record<string, unknown>, ignore: readonly string[] = []): string {
  const entries = Object.entries(params)
    .filter(([k, v]) => !ignore.includes(k) && v !== undefined && v !== null)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(entries);
}

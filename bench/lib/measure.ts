import { Packr } from 'msgpackr';
import type { NatsConnection } from 'nats';

/** Same wire settings as the ovs codec: plain msgpack maps, no msgpackr records. */
export const packr = new Packr({ useRecords: false, mapsAsObjects: true });

export function unpack(data: Uint8Array): unknown {
  return packr.unpack(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
}

export interface RttOptions {
  /** Sequential phase: requests before timing, then timed requests (one at a time). */
  warmup: number;
  sequential: number;
  /** Throughput phase: total requests with `inFlight` outstanding at any moment (after a warm-up of the same shape). */
  throughputWarmup: number;
  throughputTotal: number;
  inFlight: number;
  /** The timed requests of each phase are split into this many blocks, interleaved across subjects. */
  rounds: number;
  timeoutMs: number;
}

export const DEFAULT_RTT: RttOptions = {
  warmup: 500,
  sequential: 3_000,
  throughputWarmup: 2_000,
  throughputTotal: 20_000,
  inFlight: 256,
  rounds: 10,
  timeoutMs: 10_000,
};

export interface RttResult {
  label: string;
  p50Us: number;
  p99Us: number;
  meanUs: number;
  reqPerSec: number;
  replyBytes: number;
  failures: number;
  firstFailure?: string;
}

export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export interface RttCase {
  label: string;
  subject: string;
  body: Uint8Array;
}

/** One subject's request function: counts failures (errors or replies other than `{ok: true}`). */
class Caller {
  failures = 0;
  firstFailure: string | undefined;
  replyBytes = 0;
  readonly samples: number[] = [];
  seconds = 0;

  constructor(private readonly nc: NatsConnection, readonly c: RttCase, private readonly timeoutMs: number) {}

  async one(): Promise<void> {
    try {
      const reply = await this.nc.request(this.c.subject, this.c.body, { timeout: this.timeoutMs });
      this.replyBytes = reply.data.length;
      const v = unpack(reply.data) as { ok?: unknown } | null;
      if (v === null || typeof v !== 'object' || v.ok !== true) {
        this.failures++;
        this.firstFailure ??= `reply not ok: ${JSON.stringify(v)}`.slice(0, 500);
      }
    } catch (e) {
      this.failures++;
      this.firstFailure ??= `request failed: ${(e as Error).message}`;
    }
  }

  async sequential(n: number, record: boolean): Promise<void> {
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await this.one();
      if (record) this.samples.push((performance.now() - t0) * 1_000);
    }
  }

  /** `total` requests keeping `inFlight` outstanding; returns the wall time in seconds. */
  async pipelined(total: number, inFlight: number): Promise<number> {
    let issued = 0;
    const worker = async (): Promise<void> => {
      while (issued < total) {
        issued++;
        await this.one();
      }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: Math.min(inFlight, total) }, worker));
    return (performance.now() - t0) / 1_000;
  }
}

/**
 * Latency (sequential) and throughput (`inFlight` outstanding) of several subjects. The timed requests of each
 * subject are split into `rounds` blocks run round-robin across the subjects, so background noise on the host
 * (timers, GC, other processes) falls on all subjects alike instead of on whichever ran during it.
 */
export async function measureRtt(nc: NatsConnection, cases: readonly RttCase[], o: RttOptions = DEFAULT_RTT): Promise<RttResult[]> {
  const callers = cases.map((c) => new Caller(nc, c, o.timeoutMs));
  for (const k of callers) await k.sequential(o.warmup, false);
  const seqBlocks = split(o.sequential, o.rounds);
  for (const n of seqBlocks) for (const k of callers) await k.sequential(n, true);
  for (const k of callers) await k.pipelined(o.throughputWarmup, o.inFlight);
  const tputBlocks = split(o.throughputTotal, o.rounds);
  for (const n of tputBlocks) for (const k of callers) k.seconds += await k.pipelined(n, o.inFlight);
  return callers.map((k) => {
    const sorted = [...k.samples].sort((a, b) => a - b);
    return {
      label: k.c.label,
      p50Us: percentile(sorted, 0.5),
      p99Us: percentile(sorted, 0.99),
      meanUs: sorted.reduce((a, b) => a + b, 0) / sorted.length,
      reqPerSec: o.throughputTotal / k.seconds,
      replyBytes: k.replyBytes,
      failures: k.failures,
      ...(k.firstFailure !== undefined ? { firstFailure: k.firstFailure } : {}),
    };
  });
}

/** `total` as `parts` near-equal positive blocks. */
function split(total: number, parts: number): number[] {
  const p = Math.max(1, Math.min(parts, total));
  return Array.from({ length: p }, (_, i) => Math.floor((total * (i + 1)) / p) - Math.floor((total * i) / p));
}

export function formatTable(rows: readonly RttResult[]): string {
  const head = ['subject', 'p50 µs', 'p99 µs', 'req/s @256', 'reply B'];
  const cells = rows.map((r) => [r.label, r.p50Us.toFixed(0), r.p99Us.toFixed(0), r.reqPerSec.toFixed(0), String(r.replyBytes)]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

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
  timeoutMs: number;
}

export const DEFAULT_RTT: RttOptions = {
  warmup: 500,
  sequential: 3_000,
  throughputWarmup: 2_000,
  throughputTotal: 20_000,
  inFlight: 256,
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

/** Request/reply latency (sequential) and throughput (`inFlight` outstanding) of one subject; every reply must be `{ok: true}`. */
export async function measureRtt(nc: NatsConnection, label: string, subject: string, body: Uint8Array, o: RttOptions = DEFAULT_RTT): Promise<RttResult> {
  let failures = 0;
  let firstFailure: string | undefined;
  let replyBytes = 0;
  const one = async (): Promise<void> => {
    try {
      const reply = await nc.request(subject, body, { timeout: o.timeoutMs });
      replyBytes = reply.data.length;
      const v = unpack(reply.data) as { ok?: unknown; error?: unknown } | null;
      if (v === null || typeof v !== 'object' || v.ok !== true) {
        failures++;
        firstFailure ??= `reply not ok: ${JSON.stringify(v)}`.slice(0, 500);
      }
    } catch (e) {
      failures++;
      firstFailure ??= `request failed: ${(e as Error).message}`;
    }
  };

  for (let i = 0; i < o.warmup; i++) await one();
  const samples = new Float64Array(o.sequential);
  for (let i = 0; i < o.sequential; i++) {
    const t0 = performance.now();
    await one();
    samples[i] = (performance.now() - t0) * 1_000;
  }
  const sorted = Array.from(samples).sort((a, b) => a - b);

  const pipelined = async (total: number): Promise<number> => {
    let issued = 0;
    const worker = async (): Promise<void> => {
      while (issued < total) {
        issued++;
        await one();
      }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: Math.min(o.inFlight, total) }, worker));
    return (performance.now() - t0) / 1_000;
  };
  await pipelined(o.throughputWarmup);
  const seconds = await pipelined(o.throughputTotal);

  return {
    label,
    p50Us: percentile(sorted, 0.5),
    p99Us: percentile(sorted, 0.99),
    meanUs: sorted.reduce((a, b) => a + b, 0) / sorted.length,
    reqPerSec: o.throughputTotal / seconds,
    replyBytes,
    failures,
    ...(firstFailure !== undefined ? { firstFailure } : {}),
  };
}

export function formatTable(rows: readonly RttResult[]): string {
  const head = ['subject', 'p50 µs', 'p99 µs', 'req/s @256', 'reply B'];
  const cells = rows.map((r) => [r.label, r.p50Us.toFixed(0), r.p99Us.toFixed(0), r.reqPerSec.toFixed(0), String(r.replyBytes)]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

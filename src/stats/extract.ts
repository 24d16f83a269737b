import type { IoStatistics } from '../dataplane/volume/io-statistics.js';

/**
 * The statistics dict of a vDisk, StorageDriver, StorageRouter or vPool (model.md §3.14) from volume driver counters:
 * `<counter>_sum|_events`, the original's legacy aliases (`data_read`, `write_operations`, ...), the 4k figures
 * (bytes / block size) and the sums. Counters this data plane does not keep (cache hits, distributions) are left out.
 */
export function extractStatistics(s: IoStatistics): Record<string, number> {
  const block = s.block_size > 0 ? s.block_size : 4096;
  const avg = (usecs: number, events: number): number => (events > 0 ? usecs / events : 0);
  const out: Record<string, number> = {
    read_request_size_sum: s.read_bytes,
    read_request_size_events: s.read_requests,
    write_request_size_sum: s.write_bytes,
    write_request_size_events: s.write_requests,
    unaligned_read_request_size_sum: s.unaligned_read_bytes,
    unaligned_read_request_size_events: s.unaligned_read_requests,
    unaligned_write_request_size_sum: s.unaligned_write_bytes,
    unaligned_write_request_size_events: s.unaligned_write_requests,
    read_request_usecs_sum: s.read_usecs,
    write_request_usecs_sum: s.write_usecs,
    sync_request_usecs_sum: s.sync_usecs,
    sync_request_usecs_events: s.sync_requests,
    data_read: s.read_bytes,
    read_operations: s.read_requests,
    read_latency: avg(s.read_usecs, s.read_requests),
    data_written: s.write_bytes,
    write_operations: s.write_requests,
    write_latency: avg(s.write_usecs, s.write_requests),
    sync_latency: avg(s.sync_usecs, s.sync_requests),
    unaligned_data_read: s.unaligned_read_bytes,
    unaligned_read_operations: s.unaligned_read_requests,
    unaligned_data_written: s.unaligned_write_bytes,
    unaligned_write_operations: s.unaligned_write_requests,
    '4k_read_operations': Math.floor(s.read_bytes / block),
    '4k_write_operations': Math.floor(s.write_bytes / block),
    '4k_unaligned_read_operations': Math.floor(s.unaligned_read_bytes / block),
    '4k_unaligned_write_operations': Math.floor(s.unaligned_write_bytes / block),
  };
  out.operations = out.read_operations! + out.write_operations!;
  out['4k_operations'] = out['4k_read_operations']! + out['4k_write_operations']!;
  out['4k_unaligned_operations'] = out['4k_unaligned_read_operations']! + out['4k_unaligned_write_operations']!;
  out.data_transferred = out.data_read! + out.data_written!;
  return out;
}

export interface Sample {
  values: Record<string, number>;
  /** Epoch seconds. */
  timestamp: number;
}

const noRate = (k: string): boolean => k === 'timestamp' || k.includes('_latency') || k.includes('_distribution');

/**
 * Adds `timestamp` and `<key>_ps` per-second rates against the previous sample (model.md §3.14): max(0, Δ/Δt); the
 * previous rate again when Δt is 0; 0 without a previous sample. Latencies and distributions get no rate.
 */
export function withRates(current: Sample, previous: (Sample & { rates: Record<string, number> }) | undefined): { values: Record<string, number>; rates: Record<string, number> } {
  const rates: Record<string, number> = {};
  const dt = previous ? current.timestamp - previous.timestamp : 0;
  for (const [k, v] of Object.entries(current.values)) {
    if (noRate(k)) continue;
    const before = previous?.values[k];
    if (!previous || before === undefined) rates[`${k}_ps`] = 0;
    else if (dt <= 0) rates[`${k}_ps`] = previous.rates[`${k}_ps`] ?? 0;
    else rates[`${k}_ps`] = Math.max(0, (v - before) / dt);
  }
  return { values: { ...current.values, ...rates, timestamp: current.timestamp }, rates };
}

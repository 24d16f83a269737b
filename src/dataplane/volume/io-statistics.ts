/**
 * A volume's I/O counters since it started on this node (the volumedriver's performance counters, spec B2
 * `statistics_volume`): requests and bytes per direction, the unaligned share, time spent. Counted in memory only: a
 * restart or a move starts from zero, as the original's counters did.
 */
export interface IoCounters {
  read_requests: number;
  read_bytes: number;
  read_usecs: number;
  write_requests: number;
  write_bytes: number;
  write_usecs: number;
  unaligned_read_requests: number;
  unaligned_read_bytes: number;
  unaligned_write_requests: number;
  unaligned_write_bytes: number;
  sync_requests: number;
  sync_usecs: number;
}

/** Counters of one volume or summed over a node, with the block size the 4k figures are computed with. */
export interface IoStatistics extends IoCounters {
  /** Bytes per cluster (lba_size × cluster_multiplier); a node's sum takes its first volume's, 4096 without one. */
  block_size: number;
  /** Volumes summed (1 for one volume). */
  volumes: number;
}

export function zeroCounters(): IoCounters {
  return {
    read_requests: 0, read_bytes: 0, read_usecs: 0, write_requests: 0, write_bytes: 0, write_usecs: 0,
    unaligned_read_requests: 0, unaligned_read_bytes: 0, unaligned_write_requests: 0, unaligned_write_bytes: 0,
    sync_requests: 0, sync_usecs: 0,
  };
}

export class IoStatisticsCounter {
  private readonly c = zeroCounters();

  constructor(private readonly clusterSize: number) {}

  read(bytes: number, unaligned: boolean, startedNs: bigint): void {
    this.c.read_requests++;
    this.c.read_bytes += bytes;
    this.c.read_usecs += usecsSince(startedNs);
    if (unaligned) {
      this.c.unaligned_read_requests++;
      this.c.unaligned_read_bytes += bytes;
    }
  }

  write(bytes: number, unaligned: boolean, startedNs: bigint): void {
    this.c.write_requests++;
    this.c.write_bytes += bytes;
    this.c.write_usecs += usecsSince(startedNs);
    if (unaligned) {
      this.c.unaligned_write_requests++;
      this.c.unaligned_write_bytes += bytes;
    }
  }

  sync(startedNs: bigint): void {
    this.c.sync_requests++;
    this.c.sync_usecs += usecsSince(startedNs);
  }

  snapshot(): IoStatistics {
    return { ...this.c, block_size: this.clusterSize, volumes: 1 };
  }
}

/** Sums volumes' statistics (a node's `statistics_node`). */
export function sumIoStatistics(all: readonly IoStatistics[]): IoStatistics {
  const out: IoStatistics = { ...zeroCounters(), block_size: all[0]?.block_size ?? 4096, volumes: 0 };
  for (const s of all) {
    for (const k of Object.keys(out) as Array<keyof IoStatistics>) if (k !== 'block_size') out[k] += s[k];
  }
  return out;
}

function usecsSince(startedNs: bigint): number {
  return Number((process.hrtime.bigint() - startedNs) / 1000n);
}

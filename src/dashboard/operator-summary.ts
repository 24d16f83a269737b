import type { MdsConfigEntry } from '../storagedriver/vdisk-mds-config.js';

export interface MdsSummary {
  /** Address of the first entry (the master by position), null when the volume has no MDS services. */
  master: string | null;
  /** Whether the first entry confirms it is MASTER. */
  master_confirmed: boolean;
  slaves: number;
  /** The furthest slave behind; null when no slave answered. */
  max_tlogs_behind: number | null;
  /** Services that did not answer. */
  unknown: number;
}

/** What the dashboard shows of a vDisk's `mds_config`: master, slave count, the worst lag. */
export function mdsSummary(config: unknown): MdsSummary | null {
  if (!Array.isArray(config)) return null;
  const entries = config as MdsConfigEntry[];
  const lags = entries.slice(1).map((e) => e.tlogs_behind).filter((n): n is number => typeof n === 'number');
  return {
    master: entries[0] ? `${entries[0].address}:${entries[0].port}` : null,
    master_confirmed: entries[0]?.role === 'MASTER',
    slaves: Math.max(0, entries.length - 1),
    max_tlogs_behind: lags.length > 0 ? Math.max(...lags) : null,
    unknown: entries.filter((e) => e.role === 'unknown').length,
  };
}

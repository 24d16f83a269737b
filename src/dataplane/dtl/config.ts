/** A volume's DTL configuration and state (spec A15, C6), as the volume driver's client API speaks of them. */

export type DtlMode = 'Synchronous' | 'Asynchronous';

/** Where a volume's DTL is: a StorageDriver's storage IP and DTL port. */
export interface DtlConfig {
  host: string;
  port: number;
  mode: DtlMode;
}

/** MANUAL: the framework chose the target (dtl_checkup, set_config_params). AUTOMATIC: nobody did yet. */
export type DtlConfigMode = 'MANUAL' | 'AUTOMATIC';

export type DtlState = 'OK_STANDALONE' | 'DEGRADED' | 'CATCHUP' | 'OK_SYNC';

/** The numeric codes `dtl_state_transition` events carry (spec A17). */
export const DTL_STATE_CODES: Record<DtlState, number> = { OK_SYNC: 0, OK_STANDALONE: 1, CATCHUP: 2, DEGRADED: 3 };

/** What the backend's `failovercache_configuration` object holds; the new owner replays from this DTL after a failover. */
export interface StoredDtlConfig {
  config: DtlConfig | null;
  configMode: DtlConfigMode;
  /** Everything acknowledged is in the backend (a move, a rollback): a new owner must not replay the DTL. */
  backendComplete?: boolean;
}

export function parseStoredDtlConfig(raw: string): StoredDtlConfig {
  const v = JSON.parse(raw) as unknown;
  if (v === null || typeof v !== 'object') return { config: null, configMode: 'AUTOMATIC' };
  const o = v as Partial<StoredDtlConfig>;
  return { config: o.config ?? null, configMode: o.configMode === 'MANUAL' ? 'MANUAL' : 'AUTOMATIC', backendComplete: o.backendComplete === true };
}

/** What a backend restart did with the DTL of the previous owner. */
export interface DtlReplay {
  /** `replayed`: entries came back from the DTL. `none`: no DTL was configured. `unavailable`: it could not be read. */
  status: 'replayed' | 'none' | 'unavailable';
  entries: number;
  host?: string;
  port?: number;
  reason?: string;
}

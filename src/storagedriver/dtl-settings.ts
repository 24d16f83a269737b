import type { ConfigStore } from '../config/store.js';
import type { DtlTimeouts } from '../dataplane/volume/dtl-link.js';

/** Configuration keys of the DTL client and checker (defaults: the original's, spec A18). Read when a StorageDriver starts. */
export const DTL_CONNECT_TIMEOUT_KEY = '/ovs/framework/dtl/connect_timeout_ms';
export const DTL_REQUEST_TIMEOUT_KEY = '/ovs/framework/dtl/request_timeout_ms';
export const DTL_CHECK_INTERVAL_KEY = '/ovs/framework/dtl/check_interval_s';

export async function dtlSettingsFrom(config: ConfigStore): Promise<{ timeouts: Partial<DtlTimeouts>; checkIntervalMs?: number }> {
  const positive = async (key: string): Promise<number | undefined> => {
    const v = Number(await config.get<number>(key).catch(() => undefined));
    return Number.isFinite(v) && v > 0 ? v : undefined;
  };
  const [connectTimeoutMs, requestTimeoutMs, checkS] = await Promise.all([positive(DTL_CONNECT_TIMEOUT_KEY), positive(DTL_REQUEST_TIMEOUT_KEY), positive(DTL_CHECK_INTERVAL_KEY)]);
  return {
    timeouts: { ...(connectTimeoutMs ? { connectTimeoutMs } : {}), ...(requestTimeoutMs ? { requestTimeoutMs } : {}) },
    ...(checkS ? { checkIntervalMs: checkS * 1000 } : {}),
  };
}

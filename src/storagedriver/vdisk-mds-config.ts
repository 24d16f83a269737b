import type { MdsClient } from '../mds/client.js';
import type { ModelObject, ModelReader } from '../model/schema.js';
import { mdsAddress, mdsStoragerouter } from './mds-model.js';

/** How long an operator's read waits for one MDS service before it shows that service as not answering. */
export const MDS_READ_TIMEOUT_MS = 1_500;

/** One MDS service of a vDisk's metadata backend configuration, as an operator sees it. */
export interface MdsConfigEntry {
  address: string;
  port: number;
  storagerouter_guid: string | null;
  mds_service_guid: string | null;
  role: 'MASTER' | 'SLAVE' | 'unknown';
  /** TLogs the service's table lags the backend (dry-run catch-up); 0 for the master, null when it does not answer. */
  tlogs_behind: number | null;
}

/**
 * A vDisk's MDS services in the volume's order (master first), each with the model's service, the role the service
 * holds for the volume's namespace and how far behind it is. Services are asked in parallel; one that fails or
 * times out shows role `unknown` and `tlogs_behind` null, the others are still shown.
 */
export async function vdiskMdsConfig(
  reader: ModelReader,
  vdisk: ModelObject,
  nodes: ReadonlyArray<{ address: string; port: number }>,
  clientOf: (address: string) => MdsClient,
): Promise<MdsConfigEntry[]> {
  const ns = String(vdisk.volume_id);
  const services = new Map<string, ModelObject>();
  for (const m of reader.list('mdsservice', { vpool_guid: String(vdisk.vpool_guid) })) {
    const a = mdsAddress(reader, m);
    if (a) services.set(a, m);
  }
  return Promise.all(nodes.map(async (n, i) => {
    const address = `${n.address}:${n.port}`;
    const mds = services.get(address);
    const c = clientOf(address);
    const role = await c.get_role(ns).then((r) => r.role, () => 'unknown' as const);
    let tlogs: number | null = null;
    if (i === 0) tlogs = role === 'unknown' ? null : 0;
    else tlogs = await c.catch_up(ns, true).then((r) => r.tlogs, () => null);
    return {
      address: n.address,
      port: n.port,
      storagerouter_guid: (mds && mdsStoragerouter(reader, mds)) ?? null,
      mds_service_guid: mds?.guid ?? null,
      role,
      tlogs_behind: tlogs,
    };
  }));
}

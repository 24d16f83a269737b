import type { NatsConnection } from 'nats';
import { mdsClient } from '../../mds/client.js';
import { MDS_READ_TIMEOUT_MS } from '../../storagedriver/vdisk-mds-config.js';
import type { VoldrvApi } from '../../storagedriver/voldrv-api.js';
import type { DynamicDef, ModelObject } from '../schema.js';
import { mdsServiceDynamics } from './mdsservice.js';
import { vpoolDynamics, type VdiskScrubState } from './vpool.js';

/** How long a vPool's scrub read waits for one vDisk's driver. */
const SCRUB_READ_TIMEOUT_MS = 3_000;

/** Resolves `fallback` when `p` has not settled within `ms` (the call itself is not cancelled). */
function within<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  return Promise.race([p.catch(() => fallback), late]).finally(() => clearTimeout(timer));
}

/** Computed fields that ask services of the cluster (MDS services, volume drivers), for the agent's `ComputedFields`. */
export function operatorDynamics(nc: NatsConnection, voldrv: (storagedriverGuid: string) => VoldrvApi): Record<string, Record<string, DynamicDef>> {
  const scrubStateOf = async (vd: ModelObject): Promise<VdiskScrubState | null> => {
    if (typeof vd.storagedriver_guid !== 'string') return null;
    return within(voldrv(vd.storagedriver_guid).scrub_state({ volume_id: String(vd.volume_id) }), SCRUB_READ_TIMEOUT_MS, null);
  };
  return {
    mdsservice: mdsServiceDynamics((address) => mdsClient(address, nc, MDS_READ_TIMEOUT_MS)),
    vpool: vpoolDynamics(scrubStateOf),
  };
}

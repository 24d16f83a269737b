import type { NatsConnection } from 'nats';
import { mdsClient } from '../../mds/client.js';
import { MDS_READ_TIMEOUT_MS } from '../../storagedriver/vdisk-mds-config.js';
import type { VoldrvApi } from '../../storagedriver/voldrv-api.js';
import type { DynamicDef, ModelObject } from '../schema.js';
import { mdsServiceDynamics } from './mdsservice.js';
import { RateSampler } from '../../stats/rate-sampler.js';
import { statisticsDynamics } from './statistics.js';
import { vpoolDynamics, type VdiskScrubState } from './vpool.js';
import { within } from './within.js';

/** How long a vPool's scrub read waits for one vDisk's driver. */
const SCRUB_READ_TIMEOUT_MS = 3_000;

/** Computed fields that ask services of the cluster (MDS services, volume drivers), for the agent's `ComputedFields`. */
export function operatorDynamics(nc: NatsConnection, voldrv: (storagedriverGuid: string) => VoldrvApi): Record<string, Record<string, DynamicDef>> {
  const scrubStateOf = async (vd: ModelObject): Promise<VdiskScrubState | null> => {
    if (typeof vd.storagedriver_guid !== 'string') return null;
    return within(voldrv(vd.storagedriver_guid).scrub_state({ volume_id: String(vd.volume_id) }), SCRUB_READ_TIMEOUT_MS, null);
  };
  const statistics = statisticsDynamics(voldrv, new RateSampler());
  return {
    storagedriver: statistics.storagedriver,
    storagerouter: statistics.storagerouter,
    mdsservice: mdsServiceDynamics((address) => mdsClient(address, nc, MDS_READ_TIMEOUT_MS)),
    vpool: { ...vpoolDynamics(scrubStateOf), ...statistics.vpool },
  };
}

/** The vDisk's computed fields that ask its owner's volume driver wherever it runs; merged over `vdiskDynamics`. */
export function vdiskOperatorDynamics(voldrv: (storagedriverGuid: string) => VoldrvApi): Record<string, DynamicDef> {
  return statisticsDynamics(voldrv, new RateSampler()).vdisk;
}

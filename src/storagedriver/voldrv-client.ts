import type { NatsConnection } from 'nats';
import { NotAvailableError } from '../errors.js';
import type { ModelReader } from '../model/schema.js';
import { encode } from '../protocol/codec.js';
import { requestNode } from '../transport/request-owner.js';
import { voldrvSubject } from '../protocol/subjects.js';
import type { ServedStorageDrivers } from './manager.js';
import { localVoldrv, remoteVoldrv, type VoldrvApi } from './voldrv-api.js';

/** Finds the volume driver of any StorageDriver of the cluster: in this process, or at its node over NATS. */
export class VoldrvClients {
  constructor(
    private readonly me: string,
    private readonly nc: NatsConnection,
    private readonly model: ModelReader,
    private readonly served: ServedStorageDrivers,
    private readonly timeoutMs = 30_000,
  ) {}

  at(storagedriverGuid: string): VoldrvApi {
    const node = String(this.model.get('storagedriver', storagedriverGuid).storagerouter_guid);
    if (node === this.me) {
      return localVoldrv(async () => {
        const host = await this.served.served(storagedriverGuid);
        if (!host) throw new NotAvailableError(`StorageDriver ${storagedriverGuid} is not running on this agent`, { storagedriver_guid: storagedriverGuid });
        return host.driver;
      });
    }
    return remoteVoldrv((method, args) =>
      requestNode(this.nc, node, voldrvSubject(node, storagedriverGuid, method), encode(args), { timeout: this.timeoutMs, deadline: Date.now() + this.timeoutMs }),
    );
  }
}

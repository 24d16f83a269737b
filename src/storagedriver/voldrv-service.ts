import type { Msg, NatsConnection, Subscription } from 'nats';
import { BadRequestError, NotAvailableError, PayloadTooLargeError } from '../errors.js';
import { decodeParams } from '../protocol/codec.js';
import { voldrvCallOf, voldrvWildcard } from '../protocol/subjects.js';
import { respond } from '../transport/envelope.js';
import { parseWith } from '../transport/validate.js';
import type { VolumeDriver } from '../dataplane/driver/volume-driver.js';
import { isVoldrvMethod, localVoldrv, type VoldrvApi } from './voldrv-api.js';
import type { ServedStorageDrivers } from './manager.js';
import { VOLDRV_ARGS } from './voldrv-args.js';

/**
 * Answers the data-plane calls other agents make on the StorageDrivers this agent runs
 * (`ovs.node.<sr>.voldrv.<sd guid>.<method>`, msgpack). The volume driver checks its own arguments; every request
 * gets a reply, a typed error for anything it refuses.
 */
export class VoldrvService {
  private sub: Subscription | undefined;
  // One API object per driver, not one per call: every data-plane request from another agent comes through here.
  private readonly apis = new WeakMap<VolumeDriver, VoldrvApi>();

  constructor(private readonly me: string, private readonly nc: NatsConnection, private readonly drivers: ServedStorageDrivers, private readonly maxRequestBytes = 512 * 1024) {}

  start(): void {
    this.sub = this.nc.subscribe(voldrvWildcard(this.me), { callback: (_e, m) => void this.onCall(m) });
  }

  stop(): void {
    this.sub?.unsubscribe();
  }

  private apiOf(driver: VolumeDriver): VoldrvApi {
    let api = this.apis.get(driver);
    if (!api) this.apis.set(driver, (api = localVoldrv(() => Promise.resolve(driver))));
    return api;
  }

  private async onCall(m: Msg): Promise<void> {
    try {
      const call = voldrvCallOf(m.subject);
      if (!call || !isVoldrvMethod(call.method)) throw new BadRequestError(`not a data-plane call: '${m.subject}'`, { subject: m.subject });
      if (m.data.length > this.maxRequestBytes) throw new PayloadTooLargeError(m.data.length, this.maxRequestBytes);
      const args = parseWith(VOLDRV_ARGS[call.method], decodeParams(m.data, 'msgpack'), `voldrv.${call.method}`);
      const host = await this.drivers.served(call.storagedriverGuid);
      if (!host) throw new NotAvailableError(`StorageDriver ${call.storagedriverGuid} is not running on this agent`, { storagedriver_guid: call.storagedriverGuid });
      const api = this.apiOf(host.driver);
      const value = await (api[call.method] as (a: unknown) => Promise<unknown>)(args);
      respond(m, this.me, 'msgpack', { ok: true, value });
    } catch (error) {
      respond(m, this.me, 'msgpack', { ok: false, error });
    }
  }
}

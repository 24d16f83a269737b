import type { Msg, NatsConnection, Subscription } from 'nats';
import { BadRequestError, NotAvailableError } from '../errors.js';
import { decodeParams } from '../protocol/codec.js';
import { voldrvCallOf, voldrvWildcard } from '../protocol/subjects.js';
import { respond } from '../transport/envelope.js';
import { isVoldrvMethod, localVoldrv } from './voldrv-api.js';
import type { ServedStorageDrivers } from './manager.js';

/**
 * Answers the data-plane calls other agents make on the StorageDrivers this agent runs
 * (`ovs.node.<sr>.voldrv.<sd guid>.<method>`, msgpack). The volume driver checks its own arguments; every request
 * gets a reply, a typed error for anything it refuses.
 */
export class VoldrvService {
  private sub: Subscription | undefined;

  constructor(private readonly me: string, private readonly nc: NatsConnection, private readonly drivers: ServedStorageDrivers) {}

  start(): void {
    this.sub = this.nc.subscribe(voldrvWildcard(this.me), { callback: (_e, m) => void this.onCall(m) });
  }

  stop(): void {
    this.sub?.unsubscribe();
  }

  private async onCall(m: Msg): Promise<void> {
    try {
      const call = voldrvCallOf(m.subject);
      if (!call || !isVoldrvMethod(call.method)) throw new BadRequestError(`not a data-plane call: '${m.subject}'`, { subject: m.subject });
      const args = decodeParams(m.data, 'msgpack');
      const host = await this.drivers.served(call.storagedriverGuid);
      if (!host) throw new NotAvailableError(`StorageDriver ${call.storagedriverGuid} is not running on this agent`, { storagedriver_guid: call.storagedriverGuid });
      const api = localVoldrv(() => Promise.resolve(host.driver));
      const value = await (api[call.method] as (a: unknown) => Promise<unknown>)(args);
      respond(m, this.me, 'msgpack', { ok: true, value });
    } catch (error) {
      respond(m, this.me, 'msgpack', { ok: false, error });
    }
  }
}

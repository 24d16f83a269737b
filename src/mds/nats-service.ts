import type { Msg, NatsConnection, Subscription } from 'nats';
import type { Logger } from 'pino';
import { asOvsError } from '../errors.js';
import { faults } from '../testmode/faults.js';
import { dispatch } from './client.js';
import type { MdsServer } from './server.js';
import { decodeMessage, encodeMessage, mdsSubject } from './wire.js';

/** Serves one MDS server on its NATS subject; every request gets an answer (an error head for bad ones). */
export class MdsNatsService {
  private sub: Subscription | undefined;

  constructor(private readonly server: MdsServer, private readonly nc: NatsConnection, private readonly log: Logger) {}

  start(): void {
    this.sub = this.nc.subscribe(mdsSubject(this.server.address), { callback: (_e, m) => void this.onRequest(m) });
  }

  stop(): void {
    this.sub?.unsubscribe();
  }

  private async onRequest(m: Msg): Promise<void> {
    // A stalled MDS (test mode): the caller's timeout is what it sees.
    if (faults.active('mds.unresponsive', this.server.address)) return;
    let out: Uint8Array;
    try {
      const req = decodeMessage(m.data);
      const answer = await dispatch(this.server, { head: req.head, pages: req.pages });
      out = encodeMessage({ result: answer.result }, answer.pages);
    } catch (e) {
      const err = asOvsError(e);
      if (err.type === 'INTERNAL') this.log.error({ err: e, mds: this.server.address }, 'MDS request failed');
      out = encodeMessage({ error: err.toWire() });
    }
    if (m.reply) m.respond(out);
  }
}

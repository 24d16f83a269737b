import type { NatsConnection, Service } from 'nats';
import { z } from 'zod';
import { decodeParams } from '../protocol/codec.js';
import { OPS_OPERATIONS, opsSubject, type OpsOperation } from '../protocol/subjects.js';
import { replyTo } from '../transport/envelope.js';
import { parseWith } from '../transport/validate.js';

/** The endpoints take no parameters: an empty body or an empty map; anything else is answered with a typed error. */
const noParams = z.object({}).strict();

export const SERVICE_NAME = 'ovs-agent';

export interface NodeSummary {
  storagerouter_guid: string;
  name: string;
  version: string;
  started_at: number;
  http_url?: string;
  ready: boolean;
  reasons: string[];
}

/**
 * Registers the agent with the NATS services framework (`$SRV.PING|INFO|STATS` work with stock tools), one instance
 * per node, guid and version in the metadata. Its endpoints answer per-node questions: info, the live actor tree,
 * per-task statistics and recent tasks (msgpack replies, like the rest of the contract).
 */
export async function registerDiscovery(
  nc: NatsConnection,
  o: { guid: string; name: string; version: string; httpUrl?: string },
  answers: Record<OpsOperation, () => unknown>,
): Promise<Service> {
  const srv = await nc.services.add({
    name: SERVICE_NAME,
    version: o.version,
    description: 'Open vStorage agent (one per StorageRouter)',
    metadata: { storagerouter_guid: o.guid, name: o.name, ...(o.httpUrl ? { http_url: o.httpUrl } : {}) },
  });
  for (const op of OPS_OPERATIONS) {
    srv.addEndpoint(op, {
      subject: opsSubject(o.guid, op),
      handler: (err, msg) => {
        if (err) return;
        void replyTo(msg, o.guid, async (encoding) => {
          parseWith(noParams, decodeParams(msg.data, encoding), `ops.${op}`);
          return answers[op]();
        });
      },
      metadata: { description: `${op} of this node` },
    });
  }
  return srv;
}

import type { NatsConnection } from 'nats';
import { encode } from '../protocol/codec.js';
import { NODE_HEARTBEAT_SUBJECT } from '../protocol/subjects.js';

export interface NodeHeartbeat {
  storagerouter_guid: string;
  name: string;
  ts: number;
  uptime_s: number;
  ready: boolean;
  reasons: string[];
  http_url?: string;
  actors: number;
  restarts: number;
}

/** Publishes this node's liveness every `everyMs` for dashboards and `ovs ls` (a node missing 3 beats is down). */
export function startNodeHeartbeat(nc: NatsConnection, everyMs: number, beat: () => NodeHeartbeat): () => void {
  const send = (): void => {
    if (!nc.isClosed()) nc.publish(NODE_HEARTBEAT_SUBJECT, encode(beat()));
  };
  send();
  const t = setInterval(send, everyMs);
  t.unref();
  return () => clearInterval(t);
}

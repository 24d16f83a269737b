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

export interface HeartbeatOptions {
  /** Milliseconds until the next beat, asked after each one (the I/O lease may want them more often). */
  everyMs: () => number;
  /** Called with the monotonic send time of a beat once the NATS server has it (a flush round trip after it). */
  onConfirmed?: (sentAt: number) => void;
}

/** Publishes this node's liveness for the failure detector, dashboards and `ovs ls` (a node missing 3 beats is down). */
export function startNodeHeartbeat(nc: NatsConnection, o: HeartbeatOptions, beat: () => NodeHeartbeat): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const send = (): void => {
    if (stopped) return;
    if (!nc.isClosed()) {
      const sentAt = performance.now();
      nc.publish(NODE_HEARTBEAT_SUBJECT, encode(beat()));
      if (o.onConfirmed) nc.flush().then(() => o.onConfirmed!(sentAt), () => undefined);
    }
    timer = setTimeout(send, o.everyMs());
    timer.unref();
  };
  send();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

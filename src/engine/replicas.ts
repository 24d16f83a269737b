import type { JetStreamClient, JetStreamManager, NatsConnection, StreamConfig } from 'nats';
import { planReplicas, replicaTarget, type ReplicaAction } from '../policies/replica-target.js';
import { isStreamNotFound } from './upkeep.js';
import { kvStream } from './resources.js';

/**
 * JetStream servers of the cluster this connection is on: every server of a cluster gossips the client URLs of all of
 * them (itself included) in its INFO, kept current by the client as servers join. A server outside any cluster is
 * alone. Assumes every server of the cluster runs JetStream (the deployment the architecture describes); a growth the
 * cluster cannot place is reported, not retried.
 */
export function jetstreamServers(nc: NatsConnection): number {
  const info = nc.info as { cluster?: string; connect_urls?: string[] } | undefined;
  if (!info?.cluster) return 1;
  return Math.max(1, new Set(info.connect_urls ?? []).size);
}

export interface ReplicaCheckup {
  jetstream_servers: number;
  target_replicas: number;
  /** What was created or grown (the rest was kept). */
  changes: ReplicaAction[];
  /** Replicas of each bucket or stream afterwards. */
  replicas: Record<string, number>;
  /** Buckets or streams whose change failed, with why. */
  errors: Record<string, string>;
}

export interface CheckupResources {
  /** KV buckets that must exist (created at the target when missing). */
  buckets: readonly string[];
  /** Streams that are grown when they exist (created by their owners, with their own settings). */
  streams: readonly string[];
}

export async function checkReplicas(nc: NatsConnection, js: JetStreamClient, jsm: JetStreamManager, r: CheckupResources): Promise<ReplicaCheckup> {
  const servers = jetstreamServers(nc);
  const target = replicaTarget(servers);
  const configs = new Map<string, StreamConfig>();
  const found: Array<{ name: string; replicas?: number }> = [];
  const errors: Record<string, string> = {};
  const look = async (name: string, stream: string, mustExist: boolean): Promise<void> => {
    try {
      const info = await jsm.streams.info(stream);
      configs.set(name, info.config);
      found.push({ name, replicas: info.config.num_replicas });
    } catch (e) {
      if (!isStreamNotFound(e)) errors[name] = (e as Error).message;
      else if (mustExist) found.push({ name });
    }
  };
  for (const b of r.buckets) await look(b, kvStream(b), true);
  for (const s of r.streams) await look(s, s, false);
  const changes: ReplicaAction[] = [];
  const replicas: Record<string, number> = {};
  for (const action of planReplicas(found, target)) {
    try {
      if (action.action === 'create') {
        await js.views.kv(action.name, { history: 1, replicas: action.to });
      } else if (action.action === 'grow') {
        await jsm.streams.update(configs.get(action.name)!.name, { ...configs.get(action.name)!, num_replicas: action.to });
      }
      if (action.action !== 'keep') changes.push(action);
      replicas[action.name] = action.action === 'keep' ? action.replicas : action.to;
    } catch (e) {
      errors[action.name] = (e as Error).message;
      if (action.action === 'grow') replicas[action.name] = action.from;
    }
  }
  return { jetstream_servers: servers, target_replicas: target, changes, replicas, errors };
}

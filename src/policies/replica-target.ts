/** How many replicas the project's buckets get on a NATS cluster (storagedriver.*_voldrv_arakoon_checkup). */

export const MAX_REPLICAS = 3;

/** As many replicas as there are JetStream servers, at most three (the usual R3 of a production cluster). */
export function replicaTarget(jetstreamServers: number): number {
  if (!Number.isInteger(jetstreamServers) || jetstreamServers < 1) return 1;
  return Math.min(MAX_REPLICAS, jetstreamServers);
}

/** A bucket or stream as found: `replicas` undefined when it does not exist. */
export interface ReplicaState {
  name: string;
  replicas?: number;
}

export type ReplicaAction =
  | { name: string; action: 'create'; to: number }
  | { name: string; action: 'grow'; from: number; to: number }
  | { name: string; action: 'keep'; replicas: number };

/** Missing ones are created at the target; fewer replicas than the target grow; more are left alone (never shrunk). */
export function planReplicas(found: readonly ReplicaState[], target: number): ReplicaAction[] {
  return found.map((f) => {
    if (f.replicas === undefined) return { name: f.name, action: 'create', to: target };
    if (f.replicas < target) return { name: f.name, action: 'grow', from: f.replicas, to: target };
    return { name: f.name, action: 'keep', replicas: f.replicas };
  });
}

import type { JetStreamClient, NatsConnection } from 'nats';
import type { Logger } from 'pino';
import type { ConfigStore } from './config/store.js';
import type { ComputedFields } from './model/computed.js';
import type { ModelStore } from './model/store.js';
import type { ModelView } from './model/view.js';
import type { VoldrvApi } from './storagedriver/voldrv-api.js';
import type { UpdateRunner } from './update/runner.js';

/** Host paths a task may touch; tests point them at temporary directories. */
export interface HostPaths {
  /** Where vPool mount points live (`/mnt` in the original). */
  mountRoot: string;
  /** `/sys/class/infiniband` for the RDMA check. */
  infinibandRoot: string;
}

/** How an inline call is made, beyond its deadline. */
export interface CallOptions {
  /**
   * How long the call may wait for its ensure_single turn (the original's `ensure_single_timeout`; DEDUPED/CHAINED
   * only): past it the call fails with `EnsureSingleTimeoutError` (ENSURE_SINGLE_TIMEOUT), also when the owner is
   * on another agent.
   */
  ensureSingleTimeoutMs?: number;
}

/** Everything a task handler may use, owned by the agent. */
export interface AgentServices {
  /** Guid of the StorageRouter this agent is. */
  storagerouterGuid: string;
  machineId: string;
  nc: NatsConnection;
  js: JetStreamClient;
  view: ModelView;
  store: ModelStore;
  computed: ComputedFields;
  config: ConfigStore;
  log: Logger;
  paths: HostPaths;
  /** The agent's data directory (identity, volume data of the vPools served here). */
  dataDir: string;
  /** The volume driver of any StorageDriver of the cluster: here, or at its node over NATS (owned work has its own in `ctx.owner`). */
  voldrv(storagedriverGuid: string): VoldrvApi;
  /** Runs another task inline (through its owner, so ensure_single applies) and returns its result. */
  call(task: string, params: Record<string, unknown>, deadline?: number, options?: CallOptions): Promise<unknown>;
  /** Starts work whose outcome is kept like an async task's (`ovs.task.result {task_id}`); returns the task id. */
  spawn(task: string, work: () => Promise<unknown>, taskId?: string): Promise<string>;
  /** Runs rolling updates while this agent holds the cluster lease (absent in unit-test doubles). */
  updates?: UpdateRunner;
}

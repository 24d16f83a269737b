import type { Logger } from 'pino';
import type { HostPaths } from './agent-services.js';
import type { NatsAuth } from './config/nats-auth.js';
import type { Relauncher } from './update/relaunch.js';

/** How one agent runs; `ovs agent`, `ovs up` and the tests fill it. */
export interface AgentOptions {
  natsUrl: string;
  /** NATS credentials and TLS (src/config/nats-auth.ts); none: a plain connection. */
  natsAuth?: NatsAuth;
  dataDir: string;
  log: Logger;
  /** StorageRouter name (default: host name) and management IP (default 127.0.0.1). */
  name?: string;
  ip?: string;
  /** HTTP port for /healthz and /readyz; 0 picks a free one; undefined serves no HTTP. */
  httpPort?: number;
  httpHost?: string;
  /** Bearer token of the HTTP port (all but /healthz and /readyz); undefined: open. */
  httpToken?: string;
  leaseTtlMs?: number;
  heartbeatMs?: number;
  testTasks?: boolean;
  /** Serve `ovs.node.<sr>.test.*`: fault injection (src/testmode/faults.ts) and direct model writes. Never in production. */
  testMode?: boolean;
  joinQueue?: boolean;
  maxRequestBytes?: number;
  paths?: Partial<HostPaths>;
  /** Refresh hardware facts (disks) once after start. */
  refreshHardwareOnStart?: boolean;
  /** Liveness beats on `ovs.evt.node.heartbeat` for dashboards and `ovs ls` (default 2000 ms; down after 3 missed). */
  nodeHeartbeatMs?: number;
  /** Test only: an actor that crashes every this many ms (restarts, escalation and degraded readiness). */
  testCrashLoopMs?: number;
  /** Replicas of the KV buckets when this agent creates them (3 on a 3-node NATS cluster). */
  kvReplicas?: number;
  /** How often the scheduler (on the cluster lease holder) checks its schedules. */
  schedulerTickMs?: number;
  /** How this agent restarts on another release during a rolling update; absent inside `ovs up` (it cannot). */
  relauncher?: Relauncher;
}

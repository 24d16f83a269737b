import { hostname } from 'node:os';
import { connect, type KV, type NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { ConfigStore } from './config/store.js';
import { LeaseTable } from './cluster/lease-table.js';
import { Singletons } from './cluster/singletons.js';
import { loadOrCreateIdentity, type Identity } from './identity.js';
import { ComputedFields } from './model/computed.js';
import { ModelStore } from './model/store.js';
import { MODEL_TYPES } from './model/types.js';
import { ModelView } from './model/view.js';
import { NodeTree } from './actors/node-tree.js';
import { Supervision } from './supervisors/supervision.js';
import { buildTaskTable } from './tasks/table.js';
import { Router } from './transport/router.js';
import { Server } from './transport/server.js';
import { TaskResults } from './transport/task-results.js';
import { validateParams } from './transport/validate.js';
import { UnknownTaskError, asOvsError } from './errors.js';
import type { AgentServices, HostPaths } from './agent-services.js';
import { HealthServer } from './http/health-server.js';
import type { Service } from 'nats';
import { ClusterView } from './dashboard/cluster-view.js';
import { StorageDriverManager } from './storagedriver/manager.js';
import { vdiskDynamics } from './storagedriver/vdisk-dynamics.js';
import { spawnSerialOwner } from './actors/serial-owner.js';
import { VoldrvEventConsumer, ensureVoldrvStream } from './events/voldrv-events.js';
import { Scheduler } from './scheduler/scheduler.js';
import type { TaskDef } from './tasks/define.js';
import { ownVersion } from './host/versions.js';
import { registerDiscovery } from './ops/discovery.js';
import { AgentMetrics } from './ops/metrics.js';
import { startNodeHeartbeat } from './ops/node-heartbeat.js';
import { notifyReady, notifyStopping, startWatchdog } from './ops/systemd.js';
import { TaskStats } from './ops/task-stats.js';
import { publishActorEvents, startCrashLoop } from './ops/agent-hooks.js';
import { processHeartbeat, registerStorageRouter } from './registration.js';

export interface AgentOptions {
  natsUrl: string;
  dataDir: string;
  log: Logger;
  /** StorageRouter name (default: host name) and management IP (default 127.0.0.1). */
  name?: string;
  ip?: string;
  /** HTTP port for /healthz and /readyz; 0 picks a free one; undefined serves no HTTP. */
  httpPort?: number;
  httpHost?: string;
  leaseTtlMs?: number;
  heartbeatMs?: number;
  testTasks?: boolean;
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
}

export const BUCKETS = { model: 'ovs_model', config: 'ovs_config', leases: 'ovs_leases', tasks: 'ovs_tasks' } as const;

/** One agent = one StorageRouter: the composition root of NATS, model, actors and the request server. */
export class Agent {
  identity!: Identity;
  nc!: NatsConnection;
  services!: AgentServices;
  supervision!: Supervision;
  httpUrl: string | undefined;
  private tree!: NodeTree;
  private server!: Server;
  private singletons!: Singletons;
  private leases!: LeaseTable;
  private view!: ModelView;
  private http: HealthServer | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private startedAt = Date.now();
  private kvReachable = true;
  readonly taskStats = new TaskStats();
  metrics!: AgentMetrics;
  private discovery: Service | undefined;
  private clusterView: ClusterView | undefined;
  storagedrivers!: StorageDriverManager;
  private voldrvEvents: VoldrvEventConsumer | undefined;
  private readonly stoppers: Array<() => void> = [];

  constructor(readonly opts: AgentOptions) {}

  get storagerouterGuid(): string {
    return this.identity.storagerouter_guid;
  }

  async start(): Promise<void> {
    const o = this.opts;
    const log = o.log;
    this.identity = await loadOrCreateIdentity(o.dataDir);
    const me = this.identity.storagerouter_guid;
    this.nc = await connect({ servers: o.natsUrl.split(','), name: `ovs-agent ${me}`, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
    void this.watchConnection(log);
    const js = this.nc.jetstream();
    const open = (bucket: string, extra: Record<string, unknown> = {}): Promise<KV> => js.views.kv(bucket, { history: 1, replicas: o.kvReplicas ?? 1, ...extra });
    const [modelKv, configKv, leaseKv, taskKv] = await Promise.all([
      open(BUCKETS.model),
      open(BUCKETS.config),
      open(BUCKETS.leases),
      open(BUCKETS.tasks, { ttl: 24 * 3600 * 1000 }),
    ]);
    this.view = new ModelView(MODEL_TYPES);
    await this.view.start(modelKv);
    this.leases = new LeaseTable();
    await this.leases.start(leaseKv);
    const store = new ModelStore(modelKv, this.view);
    const config = new ConfigStore(configKv);
    let manager: StorageDriverManager | undefined;
    const computed = new ComputedFields(this.view, { vdisk: vdiskDynamics({ runningHost: (g: string) => manager?.runningHost(g) } as StorageDriverManager) });
    const table = buildTaskTable({ testTasks: o.testTasks });
    const paths: HostPaths = { mountRoot: '/mnt', infinibandRoot: '/sys/class/infiniband', ...o.paths };

    this.supervision = new Supervision(log);
    this.tree = new NodeTree(this.supervision, log);
    const ttl = o.leaseTtlMs ?? 15_000;
    this.singletons = new Singletons(leaseKv, me, ttl, (ref) => this.supervision.stop(ref), log);
    const router = new Router({
      me,
      nc: this.nc,
      services: () => this.services,
      leases: this.leases,
      singletons: this.singletons,
      supervision: this.supervision,
      nodeOwner: () => this.tree.storagerouter as never,
      log,
      singletonWaitMs: ttl * 2 + 2_000,
    });
    const results = new TaskResults(taskKv, this.nc);
    this.storagedrivers = new StorageDriverManager(me, this.view, this.nc, o.dataDir, log, (name) => this.tree.spawnSingleton(name), (ref) => this.supervision.stop(ref), (parent, name) => spawnSerialOwner(this.supervision, parent, name));
    manager = this.storagedrivers;
    this.services = {
      storagerouterGuid: me,
      dataDir: o.dataDir,
      storagedrivers: this.storagedrivers,
      machineId: this.identity.machine_id,
      nc: this.nc,
      js,
      view: this.view,
      store,
      computed,
      config,
      log,
      paths,
      call: (task, params, deadline) => {
        const def = table.get(task);
        if (!def) throw new UnknownTaskError(task);
        return router.execute(def, validateParams(def, params), { taskId: router.newTaskId(), deadline: deadline ?? Date.now() + 300_000, forwarded: false });
      },
      spawn: async (task, work, taskId = router.newTaskId()) => {
        const submitted = Date.now();
        await results.started(taskId, task);
        void work().then(
          (result) => results.finished(taskId, task, submitted, { result }),
          (e: unknown) => results.finished(taskId, task, submitted, { error: asOvsError(e) }),
        ).catch((e: unknown) => log.error({ err: e, task_id: taskId }, 'could not store a task outcome'));
        return taskId;
      },
    };

    await registerStorageRouter(store, config, this.identity, { name: this.opts.name ?? hostname(), ip: this.opts.ip ?? '127.0.0.1' });
    this.tree.spawnStorageRouter(me, async (msg) => {
      if (msg.t === 'heartbeat') await processHeartbeat(store, me);
    });
    let scheduler: Scheduler | undefined;
    this.singletons.ensure({
      lease: 'cluster',
      spawn: () => {
        scheduler = new Scheduler({
          kv: leaseKv,
          readConfig: () => config.get('/ovs/framework/scheduling/celery'),
          fire: (task) => this.fireScheduled(table, task),
          log: log.child({ component: 'scheduler' }),
          tickMs: o.schedulerTickMs ?? 10_000,
          graceMs: 10 * 60_000,
        });
        scheduler.start();
        return this.tree.spawnSingleton('cluster');
      },
      onStop: () => scheduler?.stop(),
    });
    await ensureVoldrvStream(await this.nc.jetstreamManager(), o.kvReplicas ?? 1);
    this.voldrvEvents = new VoldrvEventConsumer(js, { call: (task, params) => this.services.call(task, params) }, log.child({ component: 'events' }));
    await this.voldrvEvents.start();
    this.storagedrivers.start();
    for (const vpool of this.view.list('vpool')) this.ensureVpool(vpool.guid);
    this.view.on('change', ({ type, guid, obj }: { type: string; guid: string; obj: unknown }) => {
      if (type !== 'vpool' || this.stopping) return;
      if (obj) this.ensureVpool(guid);
      else void this.singletons.release(`vpool.${guid}`);
    });

    this.metrics = new AgentMetrics(this.supervision, () => this.readiness().ready, () => !this.disconnected && !this.nc.isClosed());
    publishActorEvents(this.supervision, this.nc, me);
    this.server = new Server({
      me, nc: this.nc, table, router, results, view: this.view, computed, config, log,
      maxRequestBytes: o.maxRequestBytes ?? 512 * 1024,
      joinQueue: o.joinQueue ?? true,
      onOutcome: (task, ms, errorType) => {
        this.taskStats.record(task, ms, errorType);
        this.metrics.task(task, ms / 1000, errorType);
      },
    });
    this.server.start();
    this.heartbeatTimer = setInterval(() => this.supervision.tell(this.tree.storagerouter!, { t: 'heartbeat' }), o.heartbeatMs ?? 60_000);
    this.heartbeatTimer.unref();
    const beatMs = o.nodeHeartbeatMs ?? 2_000;
    if (o.httpPort !== undefined) {
      this.clusterView = new ClusterView(this.nc, this.view, beatMs, (type, obj) => computed.expand(type, obj));
      this.clusterView.start();
      const clusterView = this.clusterView;
      this.http = new HealthServer({ readiness: () => this.readiness(), metrics: () => this.metrics.text(), snapshot: () => clusterView.snapshot(), streamEveryMs: Math.min(1_000, beatMs) });
      this.httpUrl = await this.http.listen(o.httpPort, o.httpHost ?? '127.0.0.1');
    }
    const name = String(this.view.get('storagerouter', me).name);
    this.discovery = await registerDiscovery(this.nc, { guid: me, name, version: ownVersion(), httpUrl: this.httpUrl }, {
      info: () => this.nodeInfo(),
      tree: () => this.supervision.tree(),
      stats: () => this.taskStats.all(),
      tasks: () => this.taskStats.recentTasks(),
    });
    this.stoppers.push(startNodeHeartbeat(this.nc, beatMs, () => ({
      storagerouter_guid: me, name, ts: Date.now(), uptime_s: Math.round((Date.now() - this.startedAt) / 1000), ...this.readiness(), http_url: this.httpUrl,
      actors: this.supervision.tree().length, restarts: this.supervision.tree().reduce((n, a) => n + a.restarts, 0),
    })));
    this.stoppers.push(this.probeKv(modelKv));
    if (o.testCrashLoopMs) this.stoppers.push(startCrashLoop(this.supervision, this.tree.node, o.testCrashLoopMs));
    this.stoppers.push(startWatchdog());
    await this.nc.flush();
    notifyReady();
    log.info({ storagerouter_guid: me, nats: o.natsUrl, http: this.httpUrl }, 'agent ready');
    if (o.refreshHardwareOnStart ?? true) {
      this.services.call('storagerouter.refresh_hardware', { storagerouter_guid: me }).catch((e: unknown) => log.warn({ err: e }, 'hardware refresh at start failed'));
    }
  }

  /** A schedule fired: start the task like an async request (its outcome is kept), unless it is not available yet. */
  private fireScheduled(table: ReadonlyMap<string, TaskDef>, scheduled: string): void {
    const name = scheduled.replace(/^ovs\./, '');
    const def = table.get(name);
    if (!def?.handler) {
      this.opts.log.debug({ task: name }, 'scheduled task is not available yet; skipped');
      return;
    }
    void this.services.spawn(name, () => this.services.call(name, {})).catch((e: unknown) => this.opts.log.warn({ err: e, task: name }, 'scheduled task did not start'));
  }

  private ensureVpool(guid: string): void {
    this.singletons.ensure({ lease: `vpool.${guid}`, spawn: () => this.tree.spawnSingleton(`vpool:${guid}`) });
  }

  nodeInfo(): Record<string, unknown> {
    const sr = this.view.find('storagerouter', this.identity.storagerouter_guid);
    return {
      storagerouter_guid: this.identity.storagerouter_guid, name: sr?.name, ip: sr?.ip, version: ownVersion(), node: process.versions.node,
      started_at: this.startedAt, uptime_s: Math.round((Date.now() - this.startedAt) / 1000), http_url: this.httpUrl,
      nats: this.opts.natsUrl, ...this.readiness(), actors: this.supervision.tree().length, dead_letters: this.supervision.deadLetters,
    };
  }

  /** Keeps a cheap KV round trip going so /readyz can say when the store is unreachable. */
  private probeKv(kv: KV): () => void {
    const t = setInterval(() => {
      kv.get('probe.readiness').then(() => (this.kvReachable = true), () => (this.kvReachable = false));
    }, 2_000);
    t.unref();
    return () => clearInterval(t);
  }

  readiness(): { ready: boolean; reasons: string[] } {
    const reasons: string[] = [];
    if (this.nc.isClosed()) reasons.push('NATS connection closed');
    else if (this.disconnected) reasons.push('NATS disconnected (reconnecting)');
    else if (!this.kvReachable) reasons.push('KV store not reachable');
    for (const r of this.supervision.degraded) reasons.push(`degraded: ${r}`);
    if (this.stopping) reasons.push('shutting down');
    return { ready: reasons.length === 0, reasons };
  }

  private disconnected = false;

  private async watchConnection(log: Logger): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect') {
        this.disconnected = true;
        this.metrics?.natsDisconnects.inc();
      }
      if (s.type === 'reconnect') {
        this.disconnected = false;
        this.kvReachable = true;
        this.metrics?.natsReconnects.inc();
      }
      if (s.type === 'disconnect' || s.type === 'reconnect') log.warn({ status: s.type, data: s.data }, 'NATS connection status');
    }
  }

  /** Stops taking work, lets in-flight requests answer, releases leases, stops actors, drains NATS. */
  async stop(deadlineMs = 8_000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    notifyStopping();
    clearInterval(this.heartbeatTimer);
    for (const stop of this.stoppers) stop();
    await this.discovery?.stop().catch(() => undefined);
    await this.server?.stop(deadlineMs / 2);
    this.clusterView?.stop();
    await this.singletons?.stopAll().catch(() => undefined);
    await this.storagedrivers?.stop().catch(() => undefined);
    this.voldrvEvents?.stop();
    this.view?.stop();
    this.leases?.stop();
    this.tree?.stop();
    await this.http?.close();
    await this.nc?.drain().catch(() => undefined);
    this.opts.log.info('agent stopped');
  }
}

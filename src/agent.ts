import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { connect, type JetStreamClient, type KV, type NatsConnection } from 'nats';
import { ConfigStore } from './config/store.js';
import { SelfFence } from './cluster/self-fence.js';
import { LeaseTable } from './cluster/lease-table.js';
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
import { Invoker } from './transport/invoke.js';
import { UnknownTaskError } from './errors.js';
import type { AgentServices } from './agent-services.js';
import { Owners } from './actors/owners.js';
import { HealthServer } from './http/health-server.js';
import { downloadsDirOf } from './bundles/downloads.js';
import type { Service } from 'nats';
import { ClusterView } from './dashboard/cluster-view.js';
import { StorageDriverManager } from './storagedriver/manager.js';
import { vdiskDynamics } from './storagedriver/vdisk-dynamics.js';
import { operatorDynamics, vdiskOperatorDynamics } from './model/dynamics/operator-views.js';
import { VoldrvClients } from './storagedriver/voldrv-client.js';
import { VoldrvService } from './storagedriver/voldrv-service.js';
import { VoldrvEventConsumer, ensureVoldrvStream } from './events/voldrv-events.js';
import { SCHEDULING_ENABLED_KEY, Scheduler } from './scheduler/scheduler.js';
import { DEFAULT_OFFLINE_AFTER_S, FailureDetector, OFFLINE_AFTER_KEY } from './cluster/failure-detector.js';
import type { TaskDef } from './tasks/define.js';
import { ownVersion } from './host/versions.js';
import { registerDiscovery } from './ops/discovery.js';
import { AgentMetrics } from './ops/metrics.js';
import { registerDataplaneMetrics } from './ops/dataplane-metrics.js';
import { startNodeHeartbeat } from './ops/node-heartbeat.js';
import { notifyReady, notifyStopping, startWatchdog } from './ops/systemd.js';
import { TaskStats } from './ops/task-stats.js';
import { ConnectionHealth, streamsHaveLeaders, untilEngineAnswers } from './ops/connection-health.js';
import type { AgentOptions } from './agent-options.js';
import { natsConnectOptions } from './config/nats-auth.js';
import { publishActorEvents, startCrashLoop } from './ops/agent-hooks.js';
import { processHeartbeat, registerStorageRouter } from './registration.js';
import { TestAdmin } from './testmode/admin.js';
import { NodeUpdateService } from './update/node-service.js';
import { UpdateRunner } from './update/runner.js';

export type { AgentOptions } from './agent-options.js';

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
  private owners!: Owners;
  private connection!: ConnectionHealth;
  private voldrvService: VoldrvService | undefined;
  private leases!: LeaseTable;
  private view!: ModelView;
  private http: HealthServer | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private startedAt = Date.now();
  readonly taskStats = new TaskStats();
  metrics!: AgentMetrics;
  private discovery: Service | undefined;
  private clusterView: ClusterView | undefined;
  storagedrivers!: StorageDriverManager;
  private ioLease!: SelfFence;
  private readOfflineAfter: () => void = () => undefined;
  private voldrvEvents: VoldrvEventConsumer | undefined;
  private testAdmin: TestAdmin | undefined;
  private nodeUpdate: NodeUpdateService | undefined;
  private readonly updates = new UpdateRunner(() => this.services);
  private readonly stoppers: Array<() => void> = [];

  constructor(readonly opts: AgentOptions) {}

  get storagerouterGuid(): string {
    return this.identity.storagerouter_guid;
  }

  async start(): Promise<void> {
    const o = this.opts;
    this.identity = await loadOrCreateIdentity(o.dataDir);
    const me = this.identity.storagerouter_guid;
    const { js, modelKv, leaseKv, taskKv, configKv } = await this.connect(me);
    this.view = new ModelView(MODEL_TYPES);
    await this.view.start(modelKv);
    this.leases = new LeaseTable();
    await this.leases.start(leaseKv);
    const store = new ModelStore(modelKv, this.view);
    // Before any StorageDriver starts: their backends are wrapped for fault injection only when test mode is on.
    if (o.testMode) {
      this.testAdmin = new TestAdmin(me, this.nc, store, this.view);
      this.testAdmin.start();
    }
    const config = new ConfigStore(configKv);
    const table = buildTaskTable({ testTasks: o.testTasks });
    const results = new TaskResults(taskKv, this.nc);

    this.supervision = new Supervision(o.log);
    this.tree = new NodeTree(this.supervision, o.log);
    this.ioLease = new SelfFence({ revalidate: () => this.storagedrivers.revalidateOwnership(), log: o.log.child({ component: 'io-lease' }) });
    this.readOfflineAfter = () => void config.get<number>(OFFLINE_AFTER_KEY).then((s) => this.ioLease.setOfflineAfterMs(Number(s ?? DEFAULT_OFFLINE_AFTER_S) * 1000), () => undefined);
    this.storagedrivers = new StorageDriverManager({ me, view: this.view, nc: this.nc, dataDir: o.dataDir, log: o.log, supervision: this.supervision, parent: this.tree.node, kvReplicas: o.kvReplicas ?? 1, config, ioFence: this.ioLease });
    const computed = new ComputedFields(this.view, {
      vdisk: { ...vdiskDynamics((sd) => this.storagedrivers.runningHost(sd), this.nc), ...vdiskOperatorDynamics((sd) => this.services.voldrv(sd)) },
      ...operatorDynamics(this.nc, (sd) => this.services.voldrv(sd)),
    });
    const ttl = o.leaseTtlMs ?? 15_000;
    this.owners = new Owners({
      me, supervision: this.supervision, parent: this.tree.node, leaseKv, leaseTtlMs: ttl, storagedrivers: this.storagedrivers, log: o.log,
      onNodeMessage: async (msg) => {
        if (msg.t === 'heartbeat') await processHeartbeat(store, me);
      },
    });
    const voldrv = new VoldrvClients(me, this.nc, this.view, this.storagedrivers);
    this.voldrvService = new VoldrvService(me, this.nc, this.storagedrivers, o.maxRequestBytes);
    const router = new Router({ me, nc: this.nc, model: this.view, leases: this.leases, owners: this.owners });
    this.metrics = new AgentMetrics(this.supervision, () => this.readiness().ready, () => this.connection.connected);
    registerDataplaneMetrics(this.metrics.registry, { me, view: this.view, driverOf: (sd) => this.storagedrivers.runningHost(sd)?.driver });
    const invoker = new Invoker({
      router, nc: this.nc, log: o.log, services: () => this.services, singletonWaitMs: ttl * 2 + 2_000,
      record: (task, ms, errorType) => {
        this.taskStats.record(task, ms, errorType);
        this.metrics.task(task, ms / 1000, errorType);
      },
    });
    this.services = {
      storagerouterGuid: me, machineId: this.identity.machine_id, dataDir: o.dataDir, nc: this.nc, js, view: this.view, store, computed, config, log: o.log,
      paths: { mountRoot: '/mnt', infinibandRoot: '/sys/class/infiniband', ...o.paths },
      voldrv: (sd) => voldrv.at(sd),
      call: (task, params, deadline, options) => {
        const def = table.get(task);
        if (!def) return Promise.reject(new UnknownTaskError(task));
        return invoker.call(def, params, { taskId: randomUUID(), deadline: deadline ?? Date.now() + 300_000, forwarded: false, ensureSingleTimeoutMs: options?.ensureSingleTimeoutMs });
      },
      spawn: (task, work, taskId = randomUUID()) => results.keep(task, work, taskId, o.log),
      updates: this.updates,
    };

    // Right after an election a stream can still refuse a write for a moment: these two are idempotent, so they wait.
    await untilEngineAnswers(o.log, () => this.stopping, () => registerStorageRouter(store, config, this.identity, { name: o.name ?? hostname(), ip: o.ip ?? '127.0.0.1' }));
    this.startClusterSingleton(leaseKv, config, table);
    await untilEngineAnswers(o.log, () => this.stopping, async () => ensureVoldrvStream(await this.nc.jetstreamManager(), o.kvReplicas ?? 1));
    this.voldrvEvents = new VoldrvEventConsumer(js, { call: (task, params) => this.services.call(task, params) }, o.log.child({ component: 'events' }));
    await this.voldrvEvents.start();
    this.storagedrivers.start();
    this.voldrvService.start();
    this.nodeUpdate = new NodeUpdateService(me, this.nc, config, o.dataDir, o.log.child({ component: 'update' }), o.relauncher);
    this.nodeUpdate.start();
    this.followVpools();

    publishActorEvents(this.supervision, this.nc, me);
    this.server = new Server({
      me, nc: this.nc, table, invoker, results, view: this.view, store, computed, config, log: o.log,
      maxRequestBytes: o.maxRequestBytes ?? 512 * 1024,
      joinQueue: o.joinQueue ?? true,
    });
    this.server.start();
    await this.startOpsSurface(me, computed, modelKv);
    await this.nc.flush();
    notifyReady();
    o.log.info({ storagerouter_guid: me, nats: o.natsUrl, http: this.httpUrl }, 'agent ready');
    if (o.refreshHardwareOnStart ?? true) {
      this.services.call('storagerouter.refresh_hardware', { storagerouter_guid: me }).catch((e: unknown) => o.log.warn({ err: e }, 'hardware refresh at start failed'));
    }
  }

  private async connect(me: string): Promise<{ js: JetStreamClient; modelKv: KV; configKv: KV; leaseKv: KV; taskKv: KV }> {
    const o = this.opts;
    // A NATS server that is not up yet is waited for, not a reason to exit (systemd may start us first).
    this.nc = await connect({ servers: o.natsUrl.split(','), name: `ovs-agent ${me}`, maxReconnectAttempts: -1, reconnectTimeWait: 500, waitOnFirstConnect: true, ...natsConnectOptions(o.natsAuth ?? {}) });
    this.connection = new ConnectionHealth(this.nc, o.log, () => this.metrics);
    const js = this.nc.jetstream();
    const open = (bucket: string, extra: Record<string, unknown> = {}): Promise<KV> => js.views.kv(bucket, { history: 1, replicas: o.kvReplicas ?? 1, ...extra });
    const [modelKv, configKv, leaseKv, taskKv] = await untilEngineAnswers(o.log, () => this.stopping, () => Promise.all([
      open(BUCKETS.model),
      open(BUCKETS.config),
      open(BUCKETS.leases),
      open(BUCKETS.tasks, { ttl: 24 * 3600 * 1000 }),
    ]));
    const jsm = await this.nc.jetstreamManager();
    await untilEngineAnswers(o.log, () => this.stopping, () => streamsHaveLeaders(jsm, Object.values(BUCKETS).map((b) => `KV_${b}`)));
    this.connection.jetstream(jsm);
    return { js, modelKv, configKv, leaseKv, taskKv };
  }

  /** The cluster singleton runs the scheduler and the failure detector wherever its lease is held. */
  private startClusterSingleton(leaseKv: KV, config: ConfigStore, table: ReadonlyMap<string, TaskDef>): void {
    let scheduler: Scheduler | undefined;
    let detector: FailureDetector | undefined;
    this.owners.ensureSingleton({
      lease: 'cluster',
      name: 'cluster',
      onStart: () => {
        detector = new FailureDetector({
          nc: this.nc, model: this.view, config, log: this.opts.log.child({ component: 'failure-detector' }),
          call: (task, params) => this.services.call(task, params), voldrv: (sd) => this.services.voldrv(sd),
        });
        detector.start();
        scheduler = new Scheduler({
          kv: leaseKv,
          readConfig: () => config.get('/ovs/framework/scheduling/celery'),
          readEnabled: () => config.get(SCHEDULING_ENABLED_KEY),
          fire: (task) => this.fireScheduled(table, task),
          log: this.opts.log.child({ component: 'scheduler' }),
          tickMs: this.opts.schedulerTickMs ?? 10_000,
          graceMs: 10 * 60_000,
        });
        scheduler.start();
        this.updates.lead(true);
        // A release that starts on a store written by an earlier one brings it to its shape (each step runs once).
        this.services.call('migration.migrate', {}).catch((e: unknown) => this.opts.log.warn({ err: e }, 'migrations at start failed; the daily run retries'));
      },
      onStop: () => {
        this.updates.lead(false);
        scheduler?.stop();
        detector?.stop();
      },
    }, { lease: 'cluster' });
  }

  /** One vPool singleton per vPool in the model, competing for its lease on every agent. */
  private followVpools(): void {
    const ensure = (guid: string): void => this.owners.ensureSingleton({ lease: `vpool.${guid}`, name: `vpool:${guid}` }, { vpoolGuid: guid });
    for (const vpool of this.view.list('vpool')) ensure(vpool.guid);
    this.view.on('change', ({ type, guid, obj }: { type: string; guid: string; obj: unknown }) => {
      if (type !== 'vpool' || this.stopping) return;
      if (obj) ensure(guid);
      else void this.owners.releaseSingleton(`vpool.${guid}`);
    });
  }

  /** Heartbeats, HTTP (health, metrics, dashboard), discovery and the watchdog. */
  private async startOpsSurface(me: string, computed: ComputedFields, modelKv: KV): Promise<void> {
    const o = this.opts;
    this.heartbeatTimer = setInterval(() => this.owners.node().tell({ t: 'heartbeat' }), o.heartbeatMs ?? 60_000);
    this.heartbeatTimer.unref();
    const beatMs = o.nodeHeartbeatMs ?? 2_000;
    if (o.httpPort !== undefined) {
      const clusterView = new ClusterView(this.nc, this.view, beatMs, (type, obj) => computed.expand(type, obj));
      this.clusterView = clusterView;
      clusterView.start();
      this.http = new HealthServer({ readiness: () => this.readiness(), metrics: () => this.metrics.text(), snapshot: () => clusterView.snapshot(), streamEveryMs: Math.min(1_000, beatMs), downloadsDir: downloadsDirOf(o.dataDir), token: o.httpToken });
      this.httpUrl = await this.http.listen(o.httpPort, o.httpHost ?? '127.0.0.1');
    }
    const name = String(this.view.get('storagerouter', me).name);
    this.discovery = await registerDiscovery(this.nc, { guid: me, name, version: ownVersion(), httpUrl: this.httpUrl }, {
      info: () => this.nodeInfo(),
      tree: () => this.supervision.tree(),
      stats: () => this.taskStats.all(),
      tasks: () => this.taskStats.recentTasks(),
    });
    // The beats also keep this node's I/O lease (SelfFence): as often as the cluster's offline timeout needs.
    const beats = { everyMs: () => (this.readOfflineAfter(), this.ioLease.beatEveryMs(beatMs)), onConfirmed: (sentAt: number) => this.ioLease.confirmed(sentAt) };
    this.stoppers.push(startNodeHeartbeat(this.nc, beats, () => ({
      storagerouter_guid: me, name, ts: Date.now(), uptime_s: Math.round((Date.now() - this.startedAt) / 1000), ...this.readiness(), http_url: this.httpUrl,
      actors: this.supervision.tree().length, restarts: this.supervision.tree().reduce((n, a) => n + a.restarts, 0),
    })));
    this.stoppers.push(this.connection.probe(modelKv));
    if (o.testCrashLoopMs) this.stoppers.push(startCrashLoop(this.supervision, this.tree.node, o.testCrashLoopMs));
    this.stoppers.push(startWatchdog());
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

  nodeInfo(): Record<string, unknown> {
    const sr = this.view.find('storagerouter', this.identity.storagerouter_guid);
    return {
      storagerouter_guid: this.identity.storagerouter_guid, name: sr?.name, ip: sr?.ip, version: ownVersion(), node: process.versions.node,
      started_at: this.startedAt, uptime_s: Math.round((Date.now() - this.startedAt) / 1000), http_url: this.httpUrl,
      nats: this.opts.natsUrl, ...this.readiness(), actors: this.supervision.tree().length, dead_letters: this.supervision.deadLetters,
    };
  }

  readiness(): { ready: boolean; reasons: string[] } {
    return this.connection.readiness(this.supervision.degraded, this.stopping);
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
    this.testAdmin?.stop();
    this.voldrvService?.stop();
    this.nodeUpdate?.stop();
    this.clusterView?.stop();
    await this.owners?.stop();
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

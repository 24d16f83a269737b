import type { NatsConnection, Subscription } from 'nats';
import type { Logger } from 'pino';
import type { ConfigStore } from '../config/store.js';
import type { ModelReader } from '../model/schema.js';
import { livenessChanges, wasPaused } from '../policies/node-liveness.js';
import { decode } from '../protocol/codec.js';
import { NODE_HEARTBEAT_SUBJECT } from '../protocol/subjects.js';
import type { VoldrvApi } from '../storagedriver/voldrv-api.js';

/** Configuration key: seconds without a heartbeat after which a StorageRouter is declared offline (default 10). */
export const OFFLINE_AFTER_KEY = '/ovs/framework/cluster/node_offline_after_s';
const RETRY_FAILOVER_MS = 3_000;
export const DEFAULT_OFFLINE_AFTER_S = 10;

export interface FailureDetectorDeps {
  nc: NatsConnection;
  model: ModelReader;
  config: ConfigStore;
  /** Runs a task inline through its owner (`storagedriver.mark_offline`). */
  call(task: string, params: Record<string, unknown>): Promise<unknown>;
  voldrv(storagedriverGuid: string): VoldrvApi;
  log: Logger;
  tickMs?: number;
  clock?: () => number;
}

/**
 * Runs with the cluster singleton: follows the agents' heartbeats, declares a StorageRouter that stays silent
 * offline (`storagedriver.mark_offline`, which fails its vDisks over), and one that beats again back ONLINE in its
 * vPools' cluster registries. Only StorageRouters that serve a vPool matter.
 */
export class FailureDetector {
  private readonly lastSeen = new Map<string, number>();
  private readonly offline = new Set<string>();
  /** Nodes whose failover left vDisks behind, and when to try again. */
  private readonly retryAt = new Map<string, number>();
  private readonly busy = new Set<string>();
  private readonly clock: () => number;
  private watchingSince: number;
  private lastTick: number | undefined;
  private sub: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly d: FailureDetectorDeps) {
    this.clock = d.clock ?? (() => performance.now());
    this.watchingSince = this.clock();
  }

  start(): void {
    this.sub = this.d.nc.subscribe(NODE_HEARTBEAT_SUBJECT, {
      callback: (_e, m) => {
        try {
          const beat = decode(m.data) as { storagerouter_guid?: unknown };
          if (typeof beat.storagerouter_guid === 'string') this.lastSeen.set(beat.storagerouter_guid, this.clock());
        } catch {
          // a malformed beat says nothing about anyone
        }
      },
    });
    this.timer = setInterval(() => void this.tick(), this.d.tickMs ?? 1_000);
    this.timer.unref();
  }

  stop(): void {
    this.sub?.unsubscribe();
    clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    const started = this.clock();
    const tickMs = this.d.tickMs ?? 1_000;
    if (wasPaused(this.lastTick, started, tickMs)) {
      // The silence it saw is its own, and the beats sent meanwhile are not read yet. Declaring the others offline now
      // failed healthy nodes over (and left vDisks without a DTL).
      this.d.log.warn({ paused_ms: Math.round(started - this.lastTick!) }, 'this agent was paused; judging heartbeats again from now');
      this.watchingSince = started;
      this.lastTick = started;
      return;
    }
    this.lastTick = started;
    const seconds = Number((await this.d.config.get<number>(OFFLINE_AFTER_KEY).catch(() => undefined)) ?? DEFAULT_OFFLINE_AFTER_S);
    const serving = [...new Set(this.d.model.list('storagedriver').map((sd) => String(sd.storagerouter_guid)))];
    const { goneOffline, backOnline } = livenessChanges({
      nodes: serving, lastSeen: this.lastSeen, offline: this.offline, now: this.clock(), watchingSince: this.watchingSince,
      offlineAfterMs: (Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_OFFLINE_AFTER_S) * 1000,
    });
    for (const node of goneOffline) {
      if ((this.retryAt.get(node) ?? 0) > this.clock()) continue;
      void this.once(node, () => this.declareOffline(node, seconds));
    }
    for (const node of backOnline) void this.once(node, () => this.declareOnline(node));
  }

  private async once(node: string, work: () => Promise<void>): Promise<void> {
    if (this.busy.has(node)) return;
    this.busy.add(node);
    try {
      await work();
    } catch (e) {
      this.d.log.error({ err: e, storagerouter_guid: node }, 'liveness change not applied; retried on a later tick');
    } finally {
      this.busy.delete(node);
    }
  }

  private async declareOffline(node: string, seconds: number): Promise<void> {
    this.d.log.warn({ storagerouter_guid: node, silent_s: seconds }, 'StorageRouter stopped sending heartbeats; declaring it offline and failing its vDisks over');
    const r = (await this.d.call('storagedriver.mark_offline', { storagerouter_guid: node })) as { failures?: Record<string, string>; unplaced?: Record<string, string> };
    if (r.unplaced && Object.keys(r.unplaced).length > 0) this.d.log.error({ storagerouter_guid: node, unplaced: r.unplaced }, 'some vDisks have nowhere to fail over to');
    if (r.failures && Object.keys(r.failures).length > 0) {
      // Not offline for good yet: the next tick after the pause tries the vDisks that did not move again.
      this.retryAt.set(node, this.clock() + RETRY_FAILOVER_MS);
      this.d.log.error({ storagerouter_guid: node, failures: r.failures }, 'some vDisks were not failed over; trying again');
      return;
    }
    this.retryAt.delete(node);
    this.offline.add(node);
  }

  private async declareOnline(node: string): Promise<void> {
    for (const sd of this.d.model.list('storagedriver', { storagerouter_guid: node })) {
      await this.d.voldrv(sd.guid).set_node_state({ node_id: String(sd.storagedriver_id), state: 'ONLINE' }).catch(async () => {
        // Its own agent may not answer yet: another node of the vPool records it.
        const other = this.d.model.list('storagedriver', { vpool_guid: sd.vpool_guid }).find((x) => x.storagerouter_guid !== node);
        if (other) await this.d.voldrv(other.guid).set_node_state({ node_id: String(sd.storagedriver_id), state: 'ONLINE' });
      });
    }
    this.offline.delete(node);
    this.d.log.info({ storagerouter_guid: node }, 'StorageRouter beats again; ONLINE, serving what the registry gives it');
  }
}

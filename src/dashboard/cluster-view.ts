import type { NatsConnection, Subscription } from 'nats';
import { decode, encode } from '../protocol/codec.js';
import type { ModelView } from '../model/view.js';
import type { NodeHeartbeat } from '../ops/node-heartbeat.js';
import { EVENT_WILDCARD, NODE_HEARTBEAT_SUBJECT, nodeModelSubject, opsSubject } from '../protocol/subjects.js';
import type { ActorInfo } from '../supervisors/supervision.js';
import type { RecentTask } from '../ops/task-stats.js';
import { mdsSummary } from './operator-summary.js';

export interface NodeView {
  storagerouter_guid: string;
  name: string;
  ip: string | null;
  status: 'up' | 'down';
  last_seen_ms: number | null;
  ready: boolean;
  reasons: string[];
  uptime_s: number | null;
  restarts: number;
  tree: ActorInfo[];
}

export interface ClusterSnapshot {
  at: number;
  nodes: NodeView[];
  vpools: Array<Record<string, unknown>>;
  vdisks: Array<Record<string, unknown>>;
  recent_tasks: Array<RecentTask & { node: string }>;
  events: Array<{ subject: string; at: number; data: unknown }>;
}

/**
 * What the dashboard shows, assembled by whichever agent serves it: nodes from the model and their heartbeats
 * (down after three missed beats), actor trees and recent tasks asked from each live node, the event stream.
 */
export class ClusterView {
  private readonly beats = new Map<string, { hb: NodeHeartbeat; at: number }>();
  private readonly trees = new Map<string, ActorInfo[]>();
  private readonly tasks = new Map<string, RecentTask[]>();
  private readonly events: ClusterSnapshot['events'] = [];
  /** Computed fields of vDisks whose data plane runs on another agent, as that agent last answered them. */
  private readonly remote = new Map<string, Record<string, unknown>>();
  private pollingRemote = false;
  private readonly subs: Subscription[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly view: ModelView,
    private readonly heartbeatMs: number,
    /** Adds computed fields (a vDisk's snapshots come from the data plane). */
    private readonly expand: (type: string, obj: Record<string, unknown> & { guid: string }) => Record<string, unknown> = (_t, o) => ({ ...o }),
  ) {}

  start(): void {
    this.subs.push(this.nc.subscribe(NODE_HEARTBEAT_SUBJECT, { callback: (_e, m) => {
      // A throw here would reach the NATS client's parser: anything that is not a heartbeat is ignored.
      let hb: NodeHeartbeat;
      try {
        hb = decode(m.data) as NodeHeartbeat;
      } catch {
        return;
      }
      if (typeof hb?.storagerouter_guid !== 'string') return;
      this.beats.set(hb.storagerouter_guid, { hb, at: Date.now() });
    } }));
    this.subs.push(this.nc.subscribe(EVENT_WILDCARD, { callback: (_e, m) => {
      if (m.subject === NODE_HEARTBEAT_SUBJECT) return;
      let data: unknown;
      try {
        data = decode(m.data);
      } catch {
        data = null;
      }
      this.events.push({ subject: m.subject, at: Date.now(), data });
      if (this.events.length > 200) this.events.shift();
    } }));
    this.timer = setInterval(() => void this.poll(), Math.max(250, this.heartbeatMs / 2));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    for (const s of this.subs) s.unsubscribe();
  }

  isUp(guid: string): boolean {
    const b = this.beats.get(guid);
    return b !== undefined && Date.now() - b.at < 3 * this.heartbeatMs;
  }

  /** A vDisk's computed fields from the agent that runs it (only that agent knows its DTL state and snapshots). */
  private async pollRemoteVdisks(): Promise<void> {
    if (!this.view.typeDef('vdisk') || this.pollingRemote) return;
    this.pollingRemote = true;
    try {
      await this.refreshRemoteVdisks();
    } finally {
      this.pollingRemote = false;
    }
  }

  private async refreshRemoteVdisks(): Promise<void> {
    const seen = new Set<string>();
    await Promise.all(this.view.list('vdisk').map(async (o) => {
      seen.add(o.guid);
      if (this.expand('vdisk', o).dtl_status !== 'unknown') return this.remote.delete(o.guid);
      const sr = this.view.find('storagedriver', String(o.storagedriver_guid))?.storagerouter_guid;
      if (typeof sr !== 'string' || !this.isUp(sr)) return;
      try {
        const reply = await this.nc.request(nodeModelSubject(sr, 'vdisk', 'get'), encode({ guid: o.guid }), { timeout: 3_000 }); // it asks the vDisk's MDS services
        const body = decode(reply.data) as { result?: Record<string, unknown> };
        if (body.result) this.remote.set(o.guid, body.result);
      } catch {
        // shown as last answered until the agent answers again
      }
    }));
    for (const guid of this.remote.keys()) if (!seen.has(guid)) this.remote.delete(guid);
  }

  private async poll(): Promise<void> {
    void this.pollRemoteVdisks();
    await Promise.all(this.view.list('storagerouter').map(async (sr) => {
      if (!this.isUp(sr.guid)) {
        this.trees.delete(sr.guid);
        return;
      }
      for (const op of ['tree', 'tasks'] as const) {
        try {
          const reply = await this.nc.request(opsSubject(sr.guid, op), new Uint8Array(), { timeout: 1_000 });
          const body = decode(reply.data) as { result: unknown };
          if (op === 'tree') this.trees.set(sr.guid, body.result as ActorInfo[]);
          else this.tasks.set(sr.guid, body.result as RecentTask[]);
        } catch {
          // a node that does not answer shows its last known state until its heartbeat times out
        }
      }
    }));
  }

  snapshot(): ClusterSnapshot {
    const now = Date.now();
    const nodes: NodeView[] = this.view.list('storagerouter').map((sr) => {
      const b = this.beats.get(sr.guid);
      const up = this.isUp(sr.guid);
      return {
        storagerouter_guid: sr.guid,
        name: String(sr.name),
        ip: (sr.ip as string | null) ?? null,
        status: up ? 'up' : 'down',
        last_seen_ms: b ? now - b.at : null,
        ready: up && (b?.hb.ready ?? false),
        reasons: up ? (b?.hb.reasons ?? []) : ['no heartbeat'],
        uptime_s: up ? (b?.hb.uptime_s ?? null) : null,
        restarts: b?.hb.restarts ?? 0,
        tree: up ? (this.trees.get(sr.guid) ?? []) : [],
      };
    });
    const recent = nodes.flatMap((n) => (this.tasks.get(n.storagerouter_guid) ?? []).map((t) => ({ ...t, node: n.name })));
    recent.sort((a, b) => b.at - a.at);
    const vdisks = this.view.typeDef('vdisk')
      ? this.view.list('vdisk').map((o) => {
          const local = this.expand('vdisk', o);
          const full = local.dtl_status === 'unknown' ? { ...local, ...this.remote.get(o.guid) } : local;
          const dtl = (full.dtl_config ?? null) as { storagerouter_guid: string | null; host: string | null; port: number | null; mode: string | null; manual: boolean } | null;
          return {
            guid: o.guid, name: o.name, size: o.size, vpool_guid: o.vpool_guid, storagerouter_guid: full.storagerouter_guid ?? null, snapshots: Array.isArray(full.snapshots) ? full.snapshots.length : 0,
            dtl_status: full.dtl_status ?? 'unknown',
            dtl: dtl && dtl.host ? { storagerouter_guid: dtl.storagerouter_guid, host: dtl.host, port: dtl.port, mode: dtl.mode, manual: dtl.manual } : null,
            mds: mdsSummary(full.mds_config),
            scrub: full.scrub_state ?? null,
          };
        })
      : [];
    return {
      at: now,
      nodes,
      vpools: this.view.list('vpool').map((v) => {
        const full = this.expand('vpool', v);
        const io = full.statistics as Record<string, number> | null | undefined;
        return {
          guid: v.guid, name: v.name, status: v.status, vdisks: vdisks.filter((d) => d.vpool_guid === v.guid).length, scrub: full.scrub_state ?? null,
          io: io ? { data_read_ps: io.data_read_ps ?? 0, data_written_ps: io.data_written_ps ?? 0, operations_ps: io.operations_ps ?? 0 } : null,
        };
      }),
      vdisks,
      recent_tasks: recent.slice(0, 50),
      events: this.events.slice(-50),
    };
  }
}

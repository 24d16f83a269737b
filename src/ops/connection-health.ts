import type { JetStreamManager, KV, NatsConnection } from 'nats';
import { engineUnavailable, NotAvailableError } from '../errors.js';
import { sleep } from '../supervisors/backoff.js';
import type { Logger } from 'pino';
import type { AgentMetrics } from './metrics.js';

/** What the agent's readiness says about its NATS connection and KV store, followed from NATS status events. */
export class ConnectionHealth {
  private disconnected = false;
  private kvReachable = true;
  private jetstreamAnswers = true;
  private jsm: JetStreamManager | undefined;

  constructor(private readonly nc: NatsConnection, private readonly log: Logger, private readonly metrics: () => AgentMetrics | undefined) {
    void this.watch();
  }

  get connected(): boolean {
    return !this.disconnected && !this.nc.isClosed();
  }

  /** The JetStream API the probe also asks: reads can still be served by a replica when the cluster has no quorum. */
  jetstream(jsm: JetStreamManager): void {
    this.jsm = jsm;
  }

  /**
   * Keeps a cheap KV read and a JetStream account-info round trip going, so /readyz says when the store cannot take
   * writes (no meta leader, no quorum), not only when it is unreachable; returns its stopper.
   */
  probe(kv: KV): () => void {
    let inFlight = false;
    const t = setInterval(() => {
      if (inFlight) return;
      inFlight = true;
      const kvProbe = kv.get('probe.readiness').then(() => (this.kvReachable = true), () => (this.kvReachable = false));
      const jsProbe = this.jsm ? this.jsm.getAccountInfo().then(() => (this.jetstreamAnswers = true), () => (this.jetstreamAnswers = false)) : Promise.resolve();
      void Promise.all([kvProbe, jsProbe]).finally(() => (inFlight = false));
    }, 2_000);
    t.unref();
    return () => clearInterval(t);
  }

  readiness(degraded: readonly string[], stopping: boolean): { ready: boolean; reasons: string[] } {
    const reasons: string[] = [];
    if (this.nc.isClosed()) reasons.push('NATS connection closed');
    else if (this.disconnected) reasons.push('NATS disconnected (reconnecting)');
    else if (!this.kvReachable) reasons.push('KV store not reachable');
    else if (!this.jetstreamAnswers) reasons.push('JetStream not answering (a server restarting, or a cluster without quorum)');
    for (const r of degraded) reasons.push(`degraded: ${r}`);
    if (stopping) reasons.push('shutting down');
    return { ready: reasons.length === 0, reasons };
  }

  private async watch(): Promise<void> {
    for await (const s of this.nc.status()) {
      const type = String(s.type);
      if (type === 'disconnect') {
        this.disconnected = true;
        this.metrics()?.natsDisconnects.inc();
      }
      if (type === 'reconnect') {
        this.disconnected = false;
        this.kvReachable = true;
        this.metrics()?.natsReconnects.inc();
      }
      if (type === 'disconnect' || type === 'reconnect') this.log.warn({ status: type, data: s.data }, 'NATS connection status');
    }
  }
}

/**
 * Runs `work` until the engine answers: a JetStream cluster electing its leader or without quorum makes an agent
 * start wait and say why (every 10 s), instead of exiting with a bare TIMEOUT. Other errors are thrown.
 */
export async function untilEngineAnswers<T>(log: Logger, stopping: () => boolean, work: () => Promise<T>): Promise<T> {
  let waitMs = 500;
  let lastSaid = 0;
  for (;;) {
    try {
      return await work();
    } catch (e) {
      const unavailable = e instanceof NotAvailableError ? e : engineUnavailable(e);
      if (!unavailable || stopping()) throw e;
      if (Date.now() - lastSaid > 10_000) {
        log.warn({ reason: unavailable.message }, 'waiting for NATS JetStream before starting');
        lastSaid = Date.now();
      }
      await sleep(waitMs);
      waitMs = Math.min(waitMs * 2, 5_000);
    }
  }
}

/** Every stream has a leader (replicated streams elect one after a restart or a lost quorum); NOT_AVAILABLE otherwise. */
export async function streamsHaveLeaders(jsm: JetStreamManager, streams: readonly string[]): Promise<void> {
  for (const name of streams) {
    const info = await jsm.streams.info(name);
    if (info.cluster && !info.cluster.leader) throw new NotAvailableError(`JetStream stream ${name} has no leader yet (the cluster is electing one or has no quorum)`, { stream: name });
  }
}

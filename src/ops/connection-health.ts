import type { KV, NatsConnection } from 'nats';
import type { Logger } from 'pino';
import type { AgentMetrics } from './metrics.js';

/** What the agent's readiness says about its NATS connection and KV store, followed from NATS status events. */
export class ConnectionHealth {
  private disconnected = false;
  private kvReachable = true;

  constructor(private readonly nc: NatsConnection, private readonly log: Logger, private readonly metrics: () => AgentMetrics | undefined) {
    void this.watch();
  }

  get connected(): boolean {
    return !this.disconnected && !this.nc.isClosed();
  }

  /** Keeps a cheap KV round trip going so /readyz can say when the store is unreachable; returns its stopper. */
  probe(kv: KV): () => void {
    const t = setInterval(() => {
      kv.get('probe.readiness').then(() => (this.kvReachable = true), () => (this.kvReachable = false));
    }, 2_000);
    t.unref();
    return () => clearInterval(t);
  }

  readiness(degraded: readonly string[], stopping: boolean): { ready: boolean; reasons: string[] } {
    const reasons: string[] = [];
    if (this.nc.isClosed()) reasons.push('NATS connection closed');
    else if (this.disconnected) reasons.push('NATS disconnected (reconnecting)');
    else if (!this.kvReachable) reasons.push('KV store not reachable');
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

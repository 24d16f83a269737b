import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DASHBOARD_HTML } from '../dashboard/page.js';
import { admit } from './bearer-auth.js';
import { DOWNLOADS_PREFIX, serveDownload } from './downloads-route.js';

export interface HttpSources {
  readiness(): { ready: boolean; reasons: string[] };
  metrics?(): Promise<string>;
  snapshot?(): unknown;
  /** How often the dashboard stream pushes a snapshot. */
  streamEveryMs?: number;
  /** Served at `/downloads/<name>` (support bundles, HPRM zips). */
  downloadsDir?: string;
  /** Every route but /healthz and /readyz then needs `Authorization: Bearer <token>` (or the dashboard's cookie). */
  token?: string;
}

/**
 * The agent's HTTP port: `/healthz` (process and event loop alive), `/readyz` (NATS, KV, tree; text reason when
 * not ready), `/metrics` (Prometheus), `/` (dashboard), `/api/cluster` (JSON), `/api/events` (SSE snapshots) and
 * `/downloads/<name>` (support bundles and HPRM zips this agent made).
 */
export class HealthServer {
  private readonly server: Server;
  private readonly streams = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly src: HttpSources) {
    this.server = createServer((req, res) => void this.route(req, res).catch(() => res.writeHead(500).end()));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!admit(req, res, this.src.token)) return;
    const path = (req.url ?? '/').split('?')[0]!;
    if (this.src.downloadsDir && path.startsWith(DOWNLOADS_PREFIX)) {
      await serveDownload(this.src.downloadsDir, path.slice(DOWNLOADS_PREFIX.length), req, res);
      return;
    }
    switch (path) {
      case '/healthz':
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        return;
      case '/readyz': {
        const r = this.src.readiness();
        res.writeHead(r.ready ? 200 : 503, { 'content-type': 'text/plain' }).end(r.ready ? 'ready\n' : `not ready: ${r.reasons.join('; ')}\n`);
        return;
      }
      case '/metrics':
        if (!this.src.metrics) break;
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(await this.src.metrics());
        return;
      case '/':
        if (!this.src.snapshot) break;
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(DASHBOARD_HTML);
        return;
      case '/api/cluster':
        if (!this.src.snapshot) break;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.src.snapshot()));
        return;
      case '/api/events':
        if (!this.src.snapshot) break;
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
        res.write(`event: snapshot\ndata: ${JSON.stringify(this.src.snapshot())}\n\n`);
        this.streams.add(res);
        req.on('close', () => this.streams.delete(res));
        return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  }

  async listen(port: number, host: string): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    if (this.src.snapshot) {
      this.timer = setInterval(() => {
        if (this.streams.size === 0) return;
        const frame = `event: snapshot\ndata: ${JSON.stringify(this.src.snapshot!())}\n\n`;
        for (const s of this.streams) s.write(frame);
      }, this.src.streamEveryMs ?? 1_000);
      this.timer.unref();
    }
    const addr = this.server.address() as AddressInfo;
    return `http://${host}:${addr.port}`;
  }

  close(): Promise<void> {
    clearInterval(this.timer);
    for (const s of this.streams) s.end();
    this.streams.clear();
    this.server.closeAllConnections?.();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

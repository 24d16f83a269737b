import { createClient } from 'redis';
import type { StatsMonkeyConfig } from '../../policies/stats-config.js';
import type { StatsPoint } from '../collectors.js';
import { SEND_TIMEOUT_MS, type StatsTransport } from './transport.js';

/**
 * Redis: one `LPUSH <database> <points as JSON>` per send (the original pushed its Python list's text). The password
 * is used when configured (the original meant to, but read a misspelt key).
 */
export function redisTransport(config: StatsMonkeyConfig): StatsTransport {
  return {
    async send(points: readonly StatsPoint[]): Promise<void> {
      const client = createClient({
        socket: { host: config.host, port: config.port, connectTimeout: SEND_TIMEOUT_MS, reconnectStrategy: false },
        ...(config.password ? { password: config.password } : {}),
        ...(config.username ? { username: config.username } : {}),
      });
      let failure: unknown;
      client.on('error', (e: unknown) => {
        failure ??= e;
      });
      try {
        await client.connect();
        await client.lPush(config.database, JSON.stringify(points));
      } catch (e) {
        throw failure ?? e;
      } finally {
        if (client.isOpen) await client.close().catch(() => undefined);
      }
    },
  };
}

import { InfluxDB } from 'influx';
import type { StatsMonkeyConfig } from '../../policies/stats-config.js';
import type { StatsPoint } from '../collectors.js';
import { SEND_TIMEOUT_MS, type StatsTransport } from './transport.js';

/** InfluxDB 1.x over HTTP (`/write`); the database must exist, as with the original. */
export function influxdbTransport(config: StatsMonkeyConfig): StatsTransport {
  return {
    async send(points: readonly StatsPoint[]): Promise<void> {
      const client = new InfluxDB({
        host: config.host, port: config.port, database: config.database, username: config.username, password: config.password,
        pool: { maxRetries: 0, requestTimeout: SEND_TIMEOUT_MS },
      });
      await client.writePoints(points.map((p) => ({ measurement: p.measurement, tags: p.tags, fields: p.fields })), { precision: 's' });
    },
  };
}

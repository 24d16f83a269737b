import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { StatsMonkeyConfig } from '../../policies/stats-config.js';
import type { StatsPoint } from '../collectors.js';
import type { StatsTransport } from './transport.js';

/** Tags that make up a point's graphite path after environment and measurement, in this order; absent ones are skipped. */
const PATH_TAGS = ['vpool_name', 'storagerouter_name', 'mds_number'] as const;

/** A graphite path component: dots and spaces would split or break the path. */
const component = (s: string): string => s.replace(/[^A-Za-z0-9_-]/g, '_');

/**
 * Graphite's plaintext protocol, one line per field: `openvstorage.fwk.<database>.<environment>.<measurement>[.<vpool>]
 * [.<storagerouter>][.<mds number>].<field> <value> <epoch seconds>`.
 */
export function graphiteLines(database: string, points: readonly StatsPoint[], epochS: number): string[] {
  const lines: string[] = [];
  for (const p of points) {
    const path = [p.tags.environment ?? 'unknown', p.measurement, ...PATH_TAGS.flatMap((t) => (p.tags[t] === undefined ? [] : [p.tags[t]]))].map(component).join('.');
    for (const [field, value] of Object.entries(p.fields)) lines.push(`openvstorage.fwk.${component(database)}.${path}.${component(field)} ${value} ${epochS}`);
  }
  return lines;
}

/** Sends each line as one UDP datagram to host:port (UDP: a send succeeds when the datagram leaves this host). */
export function graphiteTransport(config: StatsMonkeyConfig, nowS: () => number = () => Math.floor(Date.now() / 1000)): StatsTransport {
  return {
    async send(points: readonly StatsPoint[]): Promise<void> {
      const socket = createSocket(isIPv6(config.host) ? 'udp6' : 'udp4');
      try {
        for (const line of graphiteLines(config.database, points, nowS())) {
          await new Promise<void>((resolve, reject) => socket.send(`${line}\n`, config.port, config.host, (e) => (e ? reject(e) : resolve())));
        }
      } finally {
        socket.close();
      }
    },
  };
}

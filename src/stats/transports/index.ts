import type { StatsMonkeyConfig, StatsTransportName } from '../../policies/stats-config.js';
import { graphiteTransport } from './graphite.js';
import { influxdbTransport } from './influxdb.js';
import { redisTransport } from './redis.js';
import type { StatsTransport } from './transport.js';

const TRANSPORTS: Record<StatsTransportName, (config: StatsMonkeyConfig) => StatsTransport> = {
  influxdb: influxdbTransport,
  redis: redisTransport,
  graphite: graphiteTransport,
};

/** The transport the configuration names (validated, so it is one of the three). */
export function transportFor(config: StatsMonkeyConfig): StatsTransport {
  return TRANSPORTS[config.transport](config);
}

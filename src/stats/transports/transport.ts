import type { StatsMonkeyConfig } from '../../policies/stats-config.js';
import type { StatsPoint } from '../collectors.js';

/** Where statistics go. Like the original, a new client is made for every send and closed after it. */
export interface StatsTransport {
  send(points: readonly StatsPoint[]): Promise<void>;
}

/** How long one send may take before it counts as failed. */
export const SEND_TIMEOUT_MS = 5_000;

export type TransportFactory = (config: StatsMonkeyConfig) => StatsTransport;

import { z } from 'zod';

/** Where the stats monkey reads its configuration (the original's key). */
export const STATS_MONKEY_CONFIG_KEY = '/ovs/framework/monitoring/stats_monkey';

export const STATS_TRANSPORTS = ['influxdb', 'redis', 'graphite'] as const;
export type StatsTransportName = (typeof STATS_TRANSPORTS)[number];

/** Default global interval in seconds (the original's). */
export const DEFAULT_STATS_INTERVAL_S = 60;
/** configure_support's upper bound for the global interval: one day. */
export const MAX_STATS_INTERVAL_S = 86_400;

const METHOD_KEY = /^get_stats_[a-z0-9_]+$/;
const seconds = z.number().int().min(1).max(MAX_STATS_INTERVAL_S);

/**
 * The configuration as stored. Keys beyond the known ones must be per-method intervals (`get_stats_<x>: seconds`), so a
 * typo (`reddis_password`) is refused instead of being silently ignored. The original accepted ports 1025..65535 in
 * run_all but 1..65535 in configure_support; both use 1..65535 here.
 */
const knownKeys = {
  host: z.ipv4(),
  port: z.number().int().min(1).max(65535),
  interval: seconds.default(DEFAULT_STATS_INTERVAL_S),
  database: z.string().min(1).max(255),
  transport: z.enum(STATS_TRANSPORTS),
  environment: z.string().min(1).max(255),
  username: z.string().min(1).max(255).optional(),
  password: z.string().max(1024).optional(),
};

export const statsMonkeyConfigSchema = z
  .object(knownKeys)
  .catchall(seconds)
  .superRefine((c, ctx) => {
    for (const k of Object.keys(c)) {
      if (!Object.hasOwn(knownKeys, k) && !METHOD_KEY.test(k)) {
        ctx.addIssue({ code: 'custom', path: [k], message: 'unknown key (only get_stats_<method> intervals may be added)' });
      }
    }
    if (c.transport === 'influxdb') {
      if (c.username === undefined) ctx.addIssue({ code: 'custom', path: ['username'], message: 'influxdb needs a username' });
      if (c.password === undefined) ctx.addIssue({ code: 'custom', path: ['password'], message: 'influxdb needs a password' });
    }
  });

export interface StatsMonkeyConfig {
  host: string;
  port: number;
  interval: number;
  database: string;
  transport: StatsTransportName;
  environment: string;
  username?: string;
  password?: string;
  [method: `get_stats_${string}`]: number;
}

export interface StatsConfigIssue {
  path: string;
  message: string;
}

/** Parses a stored configuration; `issues` says what is wrong (missing: one issue at the root). */
export function parseStatsConfig(raw: unknown): { config: StatsMonkeyConfig; issues?: never } | { config?: never; issues: StatsConfigIssue[] } {
  if (raw === undefined || raw === null) return { issues: [{ path: '', message: `${STATS_MONKEY_CONFIG_KEY} is not set` }] };
  if (typeof raw !== 'object' || Array.isArray(raw)) return { issues: [{ path: '', message: `${STATS_MONKEY_CONFIG_KEY} must be a map` }] };
  const r = statsMonkeyConfigSchema.safeParse(raw);
  if (r.success) return { config: r.data };
  return { issues: r.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })) };
}

export interface MethodPlan {
  method: string;
  intervalS: number;
  /** Runs in one run_all: floor(global / interval), so the whole run lasts about the global interval. */
  runs: number;
}

/**
 * Per method: its own interval when configured (`get_stats_<x>`), clamped to the global one (a longer one would
 * outlast the run), and how many times it runs in one run_all.
 */
export function methodPlans(config: Pick<StatsMonkeyConfig, 'interval'> & Partial<Record<`get_stats_${string}`, number>>, methods: readonly string[]): MethodPlan[] {
  return methods.map((method) => {
    const own = (config as Record<string, unknown>)[method];
    const intervalS = Math.min(typeof own === 'number' && own >= 1 ? own : config.interval, config.interval);
    return { method, intervalS, runs: Math.max(1, Math.floor(config.interval / intervalS)) };
  });
}

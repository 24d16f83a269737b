import { z } from 'zod';
import { StatsConfigError } from '../../errors.js';
import { STATS_MONKEY_CONFIG_KEY, parseStatsConfig } from '../../policies/stats-config.js';
import { clusterStatisticsOf } from '../../stats/cluster-statistics-of.js';
import { statsMethods } from '../../stats/collectors.js';
import { runAll } from '../../stats/run-all.js';
import { transportFor } from '../../stats/transports/index.js';
import { defineTask } from '../define.js';

export const runAllStats = defineTask({
  module: 'stats_monkey',
  name: 'run_all',
  summary: 'Run all the get stats methods from StatsMonkeyController',
  params: z.object({}).strict(),
  owner: { kind: 'cluster' },
  ensureSingle: { mode: 'DEFAULT' },
  async handler(_params, { services: s, log }) {
    const parsed = parseStatsConfig(await s.config.get(STATS_MONKEY_CONFIG_KEY));
    if (!parsed.config) {
      throw new StatsConfigError(`${STATS_MONKEY_CONFIG_KEY} is missing or invalid: ${parsed.issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`, { issues: parsed.issues });
    }
    return runAll({ config: parsed.config, methods: statsMethods(s.view, clusterStatisticsOf(s)), transport: transportFor, log });
  },
});

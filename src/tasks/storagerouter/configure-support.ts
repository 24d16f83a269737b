import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { NotAvailableError, StatsConfigError, SupportUnavailableError } from '../../errors.js';
import { STATS_MONKEY_CONFIG_KEY, parseStatsConfig, type StatsMonkeyConfig } from '../../policies/stats-config.js';
import { statsCrontab } from '../../policies/stats-crontab.js';
import { unreachableStorageRouters } from '../../support/reachable.js';
import { SCHEDULING_KEY, STATS_TASK_OVERRIDES, SUPPORT_KEY, readSchedule, readSupport, statsMonkeyEnabled } from '../../support/support-config.js';
import { defineTask } from '../define.js';
import { supportInfo } from '../shapes.js';

/**
 * Switches support features cluster-wide (spec §9.8), everything checked before anything is written:
 * - `remote_access: true` is refused: the original opened an OpenVPN tunnel through its support agent; this port has
 *   neither. `false` is stored.
 * - `support_agent` is stored; nothing here uses it yet (no heartbeat to a monitoring server).
 * - `stats_monkey` sets the schedule of `ovs.stats_monkey.run_all` from the config's interval (on) or null (off) and
 *   stores `stats_monkey_config`; the scheduler re-reads its config every tick, so no service restarts.
 * Every StorageRouter's agent must answer first, as the original required SSH to all of them.
 */
export const configureSupport = defineTask({
  module: 'storagerouter',
  name: 'configure_support',
  summary: 'Configures support on all StorageRouters',
  params: z.object({ support_info: supportInfo }).strict(),
  owner: { kind: 'cluster' },
  async handler({ support_info: info }, { services: s, log }) {
    if (Object.keys(info).length === 0) {
      log.warn('configure_support called without anything to configure');
      return { changed: [] };
    }
    if (info.remote_access === true) {
      throw new SupportUnavailableError('remote access is not available in this port: the original opened a VPN tunnel through its support agent, which this project does not ship', { remote_access: true });
    }
    const support = await readSupport(s.config);
    const schedule = await readSchedule(s.config);
    const statsOn = statsMonkeyEnabled(schedule);
    const currentStatsConfig = (await s.config.get<Record<string, unknown>>(STATS_MONKEY_CONFIG_KEY)) ?? {};

    const unreachable = await unreachableStorageRouters(s);
    if (unreachable.length > 0) {
      throw new NotAvailableError(`not all StorageRouters are reachable: ${unreachable.map((u) => u.name).join(', ')}`, { storagerouters: unreachable });
    }

    const changed: string[] = [];
    let statsChange: { on: boolean; config?: StatsMonkeyConfig } | undefined;
    if (info.stats_monkey !== undefined) {
      if (info.stats_monkey) {
        const parsed = parseStatsConfig(info.stats_monkey_config ?? currentStatsConfig);
        if (!parsed.config) throw new StatsConfigError(`stats_monkey_config is invalid: ${parsed.issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`, { issues: parsed.issues });
        if (!statsOn || !isDeepStrictEqual(parsed.config, currentStatsConfig)) statsChange = { on: true, config: parsed.config };
      } else if (statsOn) {
        statsChange = { on: false };
      }
    }

    if (info.support_agent !== undefined && info.support_agent !== support.support_agent) {
      await s.config.set(`${SUPPORT_KEY}|support_agent`, info.support_agent);
      changed.push('support_agent');
    }
    if (info.remote_access === false && support.remote_access) {
      await s.config.set(`${SUPPORT_KEY}|remote_access`, false);
      changed.push('remote_access');
    }
    if (statsChange) {
      if (statsChange.config) await s.config.set(STATS_MONKEY_CONFIG_KEY, statsChange.config);
      const fresh = await readSchedule(s.config);
      // alba.stats_monkey.run_all stays off: there is no ALBA plugin to run it (a crontab would fire an unknown task).
      const next = { ...fresh, [STATS_TASK_OVERRIDES[0]]: statsChange.on ? statsCrontab(statsChange.config?.interval ?? 60) : null, [STATS_TASK_OVERRIDES[1]]: null };
      await s.config.set(SCHEDULING_KEY, next);
      changed.push('stats_monkey');
    }
    log.info({ changed }, 'support configured');
    return { changed };
  },
});

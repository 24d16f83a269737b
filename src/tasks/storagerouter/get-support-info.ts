import { z } from 'zod';
import { STATS_MONKEY_CONFIG_KEY } from '../../policies/stats-config.js';
import { CLUSTER_ID_KEY, readSchedule, readSupport, statsMonkeyEnabled } from '../../support/support-config.js';
import { defineTask } from '../define.js';

export const getSupportInfo = defineTask({
  module: 'storagerouter',
  name: 'get_support_info',
  summary: 'Returns support information for the entire cluster',
  params: z.object({}).strict(),
  owner: { kind: 'any' },
  async handler(_params, { services: s }) {
    const support = await readSupport(s.config);
    return {
      cluster_id: (await s.config.get(CLUSTER_ID_KEY)) ?? null,
      stats_monkey: statsMonkeyEnabled(await readSchedule(s.config)),
      support_agent: support.support_agent,
      remote_access: support.remote_access,
      stats_monkey_config: (await s.config.get(STATS_MONKEY_CONFIG_KEY)) ?? {},
    };
  },
});

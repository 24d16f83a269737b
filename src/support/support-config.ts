import type { ConfigStore } from '../config/store.js';
import type { CrontabFields } from '../scheduler/schedule.js';

/** `{support_agent, remote_access}` (and the original's `interval`, unused here). */
export const SUPPORT_KEY = '/ovs/framework/support';
export const SCHEDULING_KEY = '/ovs/framework/scheduling/celery';
export const CLUSTER_ID_KEY = '/ovs/framework/cluster_id';
/** The schedule entries that switch the stats monkey on (a crontab) or off (null). */
export const STATS_TASK_OVERRIDES = ['ovs.stats_monkey.run_all', 'alba.stats_monkey.run_all'] as const;

export type ScheduleOverrides = Record<string, CrontabFields | null>;

export async function readSchedule(config: ConfigStore): Promise<ScheduleOverrides> {
  const v = await config.get<unknown>(SCHEDULING_KEY);
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as ScheduleOverrides) : {};
}

/** On iff a schedule entry of either run_all is set (absent counts as off: the code default does not schedule it). */
export function statsMonkeyEnabled(schedule: ScheduleOverrides): boolean {
  return STATS_TASK_OVERRIDES.some((t) => schedule[t] !== undefined && schedule[t] !== null);
}

export async function readSupport(config: ConfigStore): Promise<{ support_agent: boolean; remote_access: boolean }> {
  const v = (await config.get<Record<string, unknown>>(SUPPORT_KEY)) ?? {};
  return { support_agent: v.support_agent === true, remote_access: v.remote_access === true };
}

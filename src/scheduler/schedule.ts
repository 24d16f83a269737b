import { CronExpressionParser } from 'cron-parser';

/**
 * Scheduled tasks (spec §1 SCHEDULE), declared as data. Config `/ovs/framework/scheduling/celery` maps a task name
 * (`ovs.<module>.<task>`) to null (disabled) or crontab fields that replace the default. Unlike the original, an
 * invalid override disables only that task (with an error in the log) instead of breaking every schedule.
 */
export const DEFAULT_SCHEDULES: Record<string, string> = {
  'ovs.generic.snapshot_all_vdisks': '0 * * * *',
  'ovs.generic.delete_snapshots': '1 2 * * *',
  'ovs.generic.execute_scrub': '0 3 * * *',
  'ovs.generic.collapse_arakoon': '10 0-23/2 * * *',
  'ovs.generic.refresh_package_information': '10 * * * *',
  'ovs.mds.mds_checkup': '30 0,4,8,12,16,20 * * *',
  'ovs.migration.migrate': '0 6 * * *',
  'ovs.monitoring.verify_vdisk_cache_quota': '15 * * * *',
  'ovs.storagedriver.cluster_registry_checkup': '0 0 * * *',
  'ovs.storagedriver.scheduled_voldrv_arakoon_checkup': '15 * * * *',
  'ovs.vdisk.dtl_checkup': '15 0,4,8,12,16,20 * * *',
  'ovs.vdisk.sync_with_reality': '30 * * * *',
};

export interface CrontabFields {
  second?: string | number;
  minute?: string | number;
  hour?: string | number;
  day_of_month?: string | number;
  month_of_year?: string | number;
  day_of_week?: string | number;
}

export interface ScheduleEntry {
  task: string;
  cron: string;
  source: 'code' | 'config';
}

/** Crontab kwargs (Celery style; fields default to `*`; `second` is our test-only extension) → cron text. */
export function cronOf(f: CrontabFields): string {
  const known = new Set(['second', 'minute', 'hour', 'day_of_month', 'month_of_year', 'day_of_week']);
  for (const k of Object.keys(f)) if (!known.has(k)) throw new Error(`unknown crontab field '${k}'`);
  const v = (x: string | number | undefined): string => (x === undefined ? '*' : String(x));
  const five = `${v(f.minute)} ${v(f.hour)} ${v(f.day_of_month)} ${v(f.month_of_year)} ${v(f.day_of_week)}`;
  return f.second === undefined ? five : `${v(f.second)} ${five}`;
}

/** The effective schedule: code defaults, overridden or disabled by configuration; bad overrides are reported. */
export function effectiveSchedules(overrides: Record<string, CrontabFields | null> | undefined): { entries: ScheduleEntry[]; problems: string[] } {
  const entries: ScheduleEntry[] = [];
  const problems: string[] = [];
  const names = new Set([...Object.keys(DEFAULT_SCHEDULES), ...Object.keys(overrides ?? {})]);
  for (const task of names) {
    const o = overrides?.[task];
    if (o === null) continue;
    if (o === undefined) {
      const cron = DEFAULT_SCHEDULES[task];
      if (cron) entries.push({ task, cron, source: 'code' });
      continue;
    }
    try {
      const cron = cronOf(o);
      CronExpressionParser.parse(cron);
      entries.push({ task, cron, source: 'config' });
    } catch (e) {
      problems.push(`${task}: ${(e as Error).message}; the task is not scheduled`);
    }
  }
  return { entries, problems };
}

/** The occurrence due at `now` (ms): the latest occurrence ≤ now, if it is later than `lastFired` and within `graceMs`. */
export function dueOccurrence(cron: string, lastFired: number, now: number, graceMs: number): number | undefined {
  const it = CronExpressionParser.parse(cron, { currentDate: new Date(now + 1) });
  const prev = it.prev().getTime();
  if (prev <= lastFired || now - prev > graceMs) return undefined;
  return prev;
}

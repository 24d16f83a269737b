import type { CrontabFields } from '../scheduler/schedule.js';

/**
 * The schedule configure_support sets for `stats_monkey.run_all` from the global interval (seconds): once a day at
 * 03:00 for a day or more, every N hours (at minute 0) from an hour up, every N minutes below. The original left the
 * minute at `*` with hour patterns (the task then ran every minute of those hours) and wrote a step of 0 minutes below a minute; here
 * hour patterns pin minute 0 and a sub-minute interval runs every minute (run_all itself loops for its interval).
 * Remainders (90 min → every hour) are dropped, as in the original.
 */
export function statsCrontab(intervalS: number): CrontabFields {
  if (!Number.isFinite(intervalS) || intervalS < 1) throw new RangeError(`interval must be at least 1 second, got ${intervalS}`);
  if (intervalS >= 86_400) return { minute: '0', hour: '3' };
  if (intervalS >= 3_600) {
    const hours = Math.floor(intervalS / 3_600);
    return { minute: '0', hour: hours === 1 ? '*' : `*/${hours}` };
  }
  const minutes = Math.max(1, Math.floor(intervalS / 60));
  return { minute: minutes === 1 ? '*' : `*/${minutes}` };
}

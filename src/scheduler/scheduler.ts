import type { KV } from 'nats';
import type { Logger } from 'pino';
import { decode, encode } from '../protocol/codec.js';
import { isWrongLastSequence } from '../model/kv-errors.js';
import { dueOccurrence, effectiveSchedules, type CrontabFields, type ScheduleEntry } from './schedule.js';

/** Cluster key that switches the whole scheduler off (`false`) for maintenance and tests; absent or `true`: on. */
export const SCHEDULING_ENABLED_KEY = '/ovs/framework/scheduling/enabled';

export interface SchedulerDeps {
  kv: KV;
  readConfig: () => Promise<Record<string, CrontabFields | null> | undefined>;
  /** Reads {@link SCHEDULING_ENABLED_KEY}; without it the scheduler is always on. */
  readEnabled?: () => Promise<unknown>;
  /** Starts the task (`generic.snapshot_all_vdisks`) and does not wait for it. */
  fire: (task: string) => void;
  log: Logger;
  tickMs: number;
  /** Occurrences missed by up to this long (holder died, restart) still fire once. */
  graceMs: number;
  now?: () => number;
}

/**
 * Runs the schedules while this agent holds the cluster lease. Each occurrence is claimed with a compare-and-set on
 * `schedule.<task>` before firing, so a new holder after a failover never fires an occurrence twice, and fires an
 * occurrence missed during the failover once. The config is re-read every tick: no restart needed to change it.
 */
export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private lastProblems = '';
  private switchedOff = false;
  private lastBadSwitch = '';

  constructor(private readonly d: SchedulerDeps) {}

  start(): void {
    const tick = (): void => {
      void this.tick().catch((e: unknown) => this.d.log.warn({ err: e }, 'scheduler tick failed')).finally(() => {
        if (this.timer) this.timer = setTimeout(tick, this.d.tickMs);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Off, occurrences are still claimed, without firing: what falls due during maintenance is skipped, not made up
   * when the switch goes back on.
   */
  private async tick(): Promise<void> {
    const enabled = await this.enabled();
    const { entries, problems } = effectiveSchedules(await this.d.readConfig());
    const text = problems.join('; ');
    if (text !== this.lastProblems) {
      this.lastProblems = text;
      if (text) this.d.log.error({ problems }, 'invalid schedule overrides');
    }
    const now = (this.d.now ?? Date.now)();
    for (const e of entries) await this.consider(e, now, enabled);
  }

  private async enabled(): Promise<boolean> {
    const value = this.d.readEnabled ? await this.d.readEnabled() : undefined;
    const bad = value === undefined || typeof value === 'boolean' ? '' : JSON.stringify(value);
    if (bad !== this.lastBadSwitch) {
      this.lastBadSwitch = bad;
      if (bad) this.d.log.error({ key: SCHEDULING_ENABLED_KEY, value }, 'must be true or false; the scheduler stays on');
    }
    const off = value === false;
    if (off !== this.switchedOff) {
      this.switchedOff = off;
      if (off) this.d.log.warn({ key: SCHEDULING_ENABLED_KEY }, 'scheduler switched off: nothing fires until the key is true or removed');
      else this.d.log.info({ key: SCHEDULING_ENABLED_KEY }, 'scheduler switched on again');
    }
    return !off;
  }

  private async consider(e: ScheduleEntry, now: number, enabled: boolean): Promise<void> {
    const key = `schedule.${e.task.replace(/[^-_a-zA-Z0-9]/g, '_')}`;
    const entry = await this.d.kv.get(key);
    const state = entry && entry.operation === 'PUT' ? (decode(entry.value) as { last: number; fired: number }) : { last: 0, fired: 0 };
    // A first start does not fire what was due before it existed.
    const last = entry ? state.last : now - 1;
    const due = dueOccurrence(e.cron, last, now, this.d.graceMs);
    if (due === undefined) {
      if (!entry) await this.d.kv.create(key, encode({ last: now - 1, fired: 0 })).catch(() => undefined);
      return;
    }
    const next = encode({ last: due, fired: state.fired + (enabled ? 1 : 0) });
    try {
      if (entry) await this.d.kv.update(key, next, entry.revision);
      else await this.d.kv.create(key, next);
    } catch (err) {
      if (isWrongLastSequence(err)) return;
      throw err;
    }
    if (!enabled) {
      this.d.log.debug({ task: e.task, occurrence: new Date(due).toISOString() }, 'scheduler switched off: occurrence skipped');
      return;
    }
    this.d.log.info({ task: e.task, occurrence: new Date(due).toISOString(), source: e.source }, 'scheduled task fired');
    this.d.fire(e.task);
  }
}

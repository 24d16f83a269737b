import type { Logger } from 'pino';
import { StatsSendError } from '../errors.js';
import { methodPlans, type StatsMonkeyConfig } from '../policies/stats-config.js';
import type { StatsMethod } from './collectors.js';
import type { StatsTransport } from './transports/transport.js';

export interface MethodOutcome {
  interval_s: number;
  runs: number;
  /** Runs skipped because the previous run of the same method was still going. */
  skipped: number;
  points: number;
}

export interface RunAllDeps {
  config: StatsMonkeyConfig;
  methods: Record<string, StatsMethod>;
  transport: (config: StatsMonkeyConfig) => StatsTransport;
  log: Logger;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The original's run: per method, `floor(global / interval)` runs, `interval` apart (no sleep after the last), each run
 * collecting and sending with a new client; a run is skipped while the previous one of the same method still goes.
 * Every method runs to the end; then any method that failed (collection or send) fails the whole task, named in order.
 */
export async function runAll(d: RunAllDeps): Promise<{ methods: Record<string, MethodOutcome> }> {
  const sleep = d.sleep ?? defaultSleep;
  const failures = new Map<string, string>();
  const outcomes: Record<string, MethodOutcome> = {};
  const fail = (method: string, why: string): void => {
    failures.set(method, failures.has(method) ? `${failures.get(method)}; ${why}` : why);
  };

  const runOnce = async (method: string, collect: StatsMethod, outcome: MethodOutcome): Promise<void> => {
    try {
      const { errors, points } = await collect(d.config.environment);
      for (const e of errors) fail(method, e);
      if (points.length > 0) {
        await d.transport(d.config).send(points);
        outcome.points += points.length;
      }
    } catch (e) {
      fail(method, (e as Error).message);
    }
  };

  await Promise.all(methodPlans(d.config, Object.keys(d.methods)).map(async (plan) => {
    const collect = d.methods[plan.method]!;
    const outcome: MethodOutcome = { interval_s: plan.intervalS, runs: 0, skipped: 0, points: 0 };
    outcomes[plan.method] = outcome;
    let running: Promise<void> | undefined;
    const all: Array<Promise<void>> = [];
    for (let i = 0; i < plan.runs; i++) {
      if (running) {
        outcome.skipped++;
      } else {
        outcome.runs++;
        const run = runOnce(plan.method, collect, outcome).finally(() => {
          running = undefined;
        });
        running = run;
        all.push(run);
      }
      if (i < plan.runs - 1) await sleep(plan.intervalS * 1000);
    }
    await Promise.all(all);
  }));

  if (failures.size > 0) {
    const failed = [...failures.keys()].sort();
    d.log.warn({ failed, errors: Object.fromEntries(failures) }, 'stats monkey: methods failed');
    throw new StatsSendError(failed, Object.fromEntries(failures));
  }
  return { methods: outcomes };
}

import type { Logger } from 'pino';
import { MigrationFailedError, asOvsError } from '../errors.js';
import { HISTORY_LIMIT, type MigrationRecord, type MigrationRecordStore } from './record.js';

export interface MigrationStep {
  /** The flag recorded under `/ovs/framework/migration` once the step is done. */
  name: string;
  /** The model version the model is at once this step is done (model steps only). */
  modelVersion?: number;
  /** Idempotent: finds what still has the earlier shape and changes it; returns what it changed. */
  run(): Promise<Record<string, unknown>>;
}

export interface MigrateOutcome {
  /** Steps run by this call, in order. */
  ran: string[];
  /** Steps found done already. */
  done_before: string[];
  /** Set when another caller holds the claim of a step: this call stopped there. */
  in_progress?: { step: string; by: string; since: number };
  model_version: number | null;
}

export interface RunnerDeps {
  records: MigrationRecordStore;
  /** Who runs (task id): written into the claim. */
  by: string;
  now: () => number;
  /** A claim older than this belongs to a caller that died mid-step: it is taken over (steps are idempotent). */
  staleClaimMs: number;
  log: Logger;
}

/**
 * Runs the steps in order, each at most once across the cluster: a step is claimed with a compare-and-set on the
 * record before it runs and flagged done with another after; a live claim of someone else stops this call.
 */
export async function runMigrations(steps: readonly MigrationStep[], d: RunnerDeps): Promise<MigrateOutcome> {
  const out: MigrateOutcome = { ran: [], done_before: [], model_version: null };
  for (const step of steps) {
    const claimed = await claim(step, d, out);
    if (claimed === 'done') continue;
    if (claimed === 'busy') break;
    let changes: Record<string, unknown>;
    try {
      changes = await step.run();
    } catch (e) {
      await release(step, d).catch(() => undefined);
      throw new MigrationFailedError(step.name, asOvsError(e).message, [...out.done_before, ...out.ran]);
    }
    await finish(step, changes, d);
    out.ran.push(step.name);
    d.log.info({ step: step.name, changes }, 'migration step done');
  }
  out.model_version = (await d.records.read()).record.model_version ?? null;
  return out;
}

async function claim(step: MigrationStep, d: RunnerDeps, out: MigrateOutcome): Promise<'done' | 'busy' | 'mine'> {
  for (;;) {
    const { record, revision } = await d.records.read();
    if (record[step.name] === true) {
      out.done_before.push(step.name);
      return 'done';
    }
    const c = record.claim;
    if (c && c.by !== d.by && d.now() - c.since < d.staleClaimMs) {
      out.in_progress = c;
      return 'busy';
    }
    if (await d.records.write({ ...record, claim: { step: step.name, by: d.by, since: d.now() } }, revision)) return 'mine';
  }
}

async function finish(step: MigrationStep, changes: Record<string, unknown>, d: RunnerDeps): Promise<void> {
  for (;;) {
    const { record, revision } = await d.records.read();
    const history = [...(record.history ?? []), { step: step.name, at: d.now(), changes }].slice(-HISTORY_LIMIT);
    const next: MigrationRecord = { ...record, [step.name]: true, history, claim: null };
    if (step.modelVersion !== undefined) next.model_version = Math.max(record.model_version ?? 0, step.modelVersion);
    if (await d.records.write(next, revision)) return;
  }
}

async function release(step: MigrationStep, d: RunnerDeps): Promise<void> {
  for (;;) {
    const { record, revision } = await d.records.read();
    if (record.claim?.by !== d.by || record.claim.step !== step.name) return;
    if (await d.records.write({ ...record, claim: null }, revision)) return;
  }
}

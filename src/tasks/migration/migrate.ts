import { z } from 'zod';
import { configBucket, modelBucket } from '../../engine/resources.js';
import { MigrationRecordStore } from '../../migrations/record.js';
import { runMigrations } from '../../migrations/runner.js';
import { migrationSteps } from '../../migrations/steps.js';
import { defineTask } from '../define.js';

/** A claim this old belongs to a caller that died in the middle of a step; the step (idempotent) is run again. */
const STALE_CLAIM_MS = 15 * 60_000;

/**
 * Model and configuration migrations (the original's out-of-band migrations): each step is flagged under
 * `/ovs/framework/migration` once done and never runs again; steps run in order and the first failure stops the rest.
 */
export const migrate = defineTask({
  module: 'migration',
  name: 'migrate',
  summary: 'Executes async migrations',
  params: z.object({}).strict(),
  owner: { kind: 'cluster' },
  ensureSingle: { mode: 'DEFAULT' },
  async handler(_params, { services, taskId, log }) {
    const [modelKv, configKv] = await Promise.all([
      services.js.views.kv(modelBucket(), { bindOnly: true }),
      services.js.views.kv(configBucket(), { bindOnly: true }),
    ]);
    const steps = migrationSteps({ modelKv, store: services.store, config: services.config });
    return runMigrations(steps, { records: new MigrationRecordStore(configKv), by: taskId, now: () => Date.now(), staleClaimMs: STALE_CLAIM_MS, log });
  },
});

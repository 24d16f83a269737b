import { z } from 'zod';
import { defineTask, type EnsureSingleMode, type TaskDef } from '../define.js';
import { sleep } from '../../supervisors/backoff.js';

/**
 * Test-only tasks (registered when the agent runs with test tasks enabled): sleep for `ms` at the cluster
 * singleton, one per ensure_single mode, so concurrency tests can observe admission, waiting and coalescing.
 */
function sleepTask(mode: EnsureSingleMode): TaskDef {
  return defineTask({
    module: 'test',
    name: `sleep_${mode.toLowerCase()}`,
    summary: `Sleep at the cluster singleton (ensure_single ${mode})`,
    params: z.object({ ms: z.number().int().min(0).max(30_000).default(0), key: z.string().max(64).optional() }).strict(),
    owner: { kind: 'cluster' },
    ensureSingle: { mode, startTimeoutMs: mode === 'NONE' ? undefined : 20_000 },
    testOnly: true,
    async handler({ ms }, { taskId, services }) {
      const started_at = Date.now();
      await sleep(ms);
      return { task_id: taskId, started_at, finished_at: Date.now(), served_by: services.storagerouterGuid };
    },
  });
}

/** Sleeps in the actor of one vDisk: shows that a vDisk's tasks are serialised by its mailbox. */
const vdiskSleep = defineTask({
  module: 'test',
  name: 'vdisk_sleep',
  summary: "Sleep in a vDisk's actor",
  params: z.object({ vdisk_guid: z.string().min(1).max(64), ms: z.number().int().min(0).max(30_000).default(0) }).strict(),
  owner: { kind: 'vdisk', param: 'vdisk_guid' },
  testOnly: true,
  async handler({ ms }, { taskId }) {
    const started_at = Date.now();
    await sleep(ms);
    return { task_id: taskId, started_at, finished_at: Date.now() };
  },
});

/** A declared task without a handler: every seed task has one now, and the NOT_IMPLEMENTED path stays answered and tested. */
const notImplemented = defineTask({
  module: 'test',
  name: 'not_implemented',
  summary: 'A declared task that has no handler',
  params: z.object({}).strict(),
  owner: { kind: 'any' },
  testOnly: true,
  pending: 'a test task that never gets a handler',
});

export const testTasks: TaskDef[] = [...(['NONE', 'DEFAULT', 'DEDUPED', 'CHAINED'] as const).map(sleepTask), vdiskSleep, notImplemented];

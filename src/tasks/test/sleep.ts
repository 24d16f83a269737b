import { z } from 'zod';
import { defineTask, type EnsureSingleMode, type TaskDef } from '../define.js';
import { sleep } from '../../supervisors/backoff.js';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VpoolError } from '../../errors.js';

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

/** Where `test.count_runs` keeps its count files (agents and tests on one machine share it). */
export const COUNT_RUNS_DIR = join(tmpdir(), 'ovs-count-runs');

/**
 * Counts its runs in a file (one line per run, appended before it sleeps), at the agent of one StorageRouter: a
 * mutation whose repeats are visible across agent processes and restarts, for the idempotent-retry tests.
 */
const countRuns = defineTask({
  module: 'test',
  name: 'count_runs',
  summary: 'Append a line to a count file, sleep, answer the number of runs (or fail)',
  params: z.object({
    storagerouter_guid: z.string().min(1).max(64),
    /** The count file's name in COUNT_RUNS_DIR. */
    file: z.string().min(1).max(128).regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/),
    ms: z.number().int().min(0).max(30_000).default(0),
    fail: z.boolean().default(false),
  }).strict(),
  owner: { kind: 'node', param: 'storagerouter_guid' },
  testOnly: true,
  async handler({ file, ms, fail }, { taskId, services }) {
    await mkdir(COUNT_RUNS_DIR, { recursive: true });
    const path = join(COUNT_RUNS_DIR, file);
    await appendFile(path, `${taskId}\n`);
    const runs = (await readFile(path, 'utf8')).split('\n').filter(Boolean).length;
    await sleep(ms);
    if (fail) throw new VpoolError(`run ${runs} failed on purpose`, { runs });
    return { runs, task_id: taskId, served_by: services.storagerouterGuid, finished_at: Date.now() };
  },
});

export const testTasks: TaskDef[] = [...(['NONE', 'DEFAULT', 'DEDUPED', 'CHAINED'] as const).map(sleepTask), vdiskSleep, notImplemented, countRuns];

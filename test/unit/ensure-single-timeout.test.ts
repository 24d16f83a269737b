import test from 'ava';
import pino from 'pino';
import { z } from 'zod';
import { GatedOwner } from '../../src/actors/gated-owner.js';
import { NodeTree } from '../../src/actors/node-tree.js';
import type { Invocation, Outcome } from '../../src/actors/task-owner.js';
import { EnsureSingleTimeoutError } from '../../src/errors.js';
import { Supervision } from '../../src/supervisors/supervision.js';
import type { AgentServices } from '../../src/agent-services.js';
import { defineTask, type EnsureSingleMode, type TaskDef } from '../../src/tasks/define.js';

const log = pino({ level: 'silent' });

/** A task whose runs end only when the test releases them, so no timing decides who waits. */
function held(mode: EnsureSingleMode, release: Promise<void>, started: string[]): TaskDef {
  return defineTask({
    module: 't',
    name: `held_${mode}`,
    summary: '',
    params: z.object({ id: z.string(), key: z.string() }),
    owner: { kind: 'cluster' },
    ensureSingle: { mode, ignoreArguments: ['id'], startTimeoutMs: 60_000 },
    async handler({ id }) {
      started.push(id);
      await release;
      return id;
    },
  });
}

function submit(owner: GatedOwner<{ lease: 'cluster' }>, def: TaskDef, params: Record<string, unknown>, startTimeoutMs?: number): Promise<Outcome> {
  return new Promise((settle) => {
    const ctx = { taskId: String(params.id), deadline: Date.now() + 120_000, log, owner: { lease: 'cluster' as const }, services: {} as AgentServices, progress: () => undefined };
    const inv: Invocation = { id: String(params.id), def, handler: def.handler!, params, ctx, settle, startTimeoutMs };
    owner.submit(inv);
  });
}

for (const mode of ['DEDUPED', 'CHAINED'] as const) {
  test(`${mode}: a call's own ensure_single timeout ends its wait with ENSURE_SINGLE_TIMEOUT naming that timeout; others keep waiting`, async (t) => {
    const supervision = new Supervision(log);
    const nodes = new NodeTree(supervision, log);
    const owner = new GatedOwner(supervision, nodes.node, 'cluster', () => Promise.resolve({ lease: 'cluster' as const }));
    let release!: () => void;
    const started: string[] = [];
    const def = held(mode, new Promise<void>((r) => (release = r)), started);

    const running = submit(owner, def, { id: 'a', key: 'k' });
    const impatient = await submit(owner, def, { id: 'b', key: 'k' }, 30);
    t.false(impatient.ok);
    const error = (impatient as { error: unknown }).error;
    t.true(error instanceof EnsureSingleTimeoutError);
    t.is((error as EnsureSingleTimeoutError).details.timeout_ms, 30);
    t.is((error as EnsureSingleTimeoutError).type, 'ENSURE_SINGLE_TIMEOUT');

    // A patient caller (the task's 60 s) still gets its turn once the running one ends; the impatient one never ran.
    const patient = submit(owner, def, { id: 'c', key: 'k' });
    release();
    t.deepEqual([await running, await patient], [{ ok: true, value: 'a' }, { ok: true, value: 'c' }]);
    t.deepEqual(started, ['a', 'c']);
    nodes.stop();
  });
}

test('DEFAULT: the per-call timeout changes nothing (DEFAULT never waits: discarded at once)', async (t) => {
  const supervision = new Supervision(log);
  const nodes = new NodeTree(supervision, log);
  const owner = new GatedOwner(supervision, nodes.node, 'cluster', () => Promise.resolve({ lease: 'cluster' as const }));
  let release!: () => void;
  const def = held('DEFAULT', new Promise<void>((r) => (release = r)), []);
  const running = submit(owner, def, { id: 'a', key: 'k' });
  const second = await submit(owner, def, { id: 'b', key: 'k' }, 30);
  t.like(second, { ok: true, value: { ensure_single: 'discarded', running_task_id: 'a' } });
  release();
  await running;
  nodes.stop();
});

import test from 'ava';
import pino from 'pino';
import { z } from 'zod';
import { GatedOwner } from '../../src/actors/gated-owner.js';
import { SerialOwner } from '../../src/actors/serial-owner.js';
import { NodeTree } from '../../src/actors/node-tree.js';
import { runTask, type Invocation, type NotRunResult, type Outcome } from '../../src/actors/task-owner.js';
import { NotAvailableError } from '../../src/errors.js';
import { Supervision } from '../../src/supervisors/supervision.js';
import type { AgentServices } from '../../src/agent-services.js';
import { defineTask, type EnsureSingleMode, type TaskDef } from '../../src/tasks/define.js';
import type { AnyOwnerResource } from '../../src/tasks/owner-resources.js';

const log = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sleeper(mode: EnsureSingleMode, events: string[]): TaskDef {
  return defineTask({
    module: 't',
    name: `sleep_${mode}`,
    summary: '',
    params: z.object({ id: z.string(), ms: z.number() }),
    owner: { kind: 'cluster' },
    ensureSingle: { mode },
    async handler({ id, ms }, { owner }) {
      events.push(`start ${id}`);
      await sleep(ms);
      events.push(`end ${id}`);
      return { id, owner };
    },
  });
}

function submit(owner: { submit(inv: Invocation): void }, def: TaskDef, params: Record<string, unknown>, resources: AnyOwnerResource): Promise<Outcome> {
  return new Promise((settle) => {
    const ctx = { taskId: String(params.id), deadline: Date.now() + 10_000, log, owner: resources, services: {} as AgentServices, progress: () => undefined };
    owner.submit({ id: String(params.id), def, handler: def.handler!, params, ctx, settle });
  });
}

function tree() {
  const supervision = new Supervision(log);
  return { supervision, nodes: new NodeTree(supervision, log) };
}

test('gated owner, NONE: tasks overlap and each gets the owner\'s resources', async (t) => {
  const { supervision, nodes } = tree();
  const events: string[] = [];
  const owner = new GatedOwner(supervision, nodes.node, 'cluster', () => Promise.resolve({ lease: 'cluster' as const }));
  const resources = await owner.resources();
  const def = sleeper('NONE', events);
  const outcomes = await Promise.all(['a', 'b'].map((id) => submit(owner, def, { id, ms: 30 }, resources)));
  t.deepEqual(events.slice(0, 2), ['start a', 'start b'], 'both started before either ended');
  t.deepEqual(outcomes.map((o) => o.ok && (o.value as { owner: unknown }).owner), [{ lease: 'cluster' }, { lease: 'cluster' }]);
  nodes.stop();
});

test('gated owner, DEFAULT: a second request while one runs is answered at once as discarded', async (t) => {
  const { supervision, nodes } = tree();
  const events: string[] = [];
  const owner = new GatedOwner(supervision, nodes.node, 'cluster', () => Promise.resolve({ lease: 'cluster' as const }));
  const def = sleeper('DEFAULT', events);
  const first = submit(owner, def, { id: 'a', ms: 50 }, { lease: 'cluster' });
  await sleep(10);
  const second = await submit(owner, def, { id: 'b', ms: 0 }, { lease: 'cluster' });
  t.like(second, { ok: true, value: { ensure_single: 'discarded', running_task_id: 'a' } satisfies Partial<NotRunResult> });
  t.like(await first, { ok: true });
  t.deepEqual(events, ['start a', 'end a']);
  nodes.stop();
});

test('gated owner that stopped: requests are NOT_AVAILABLE, not lost', async (t) => {
  const { supervision, nodes } = tree();
  const owner = new GatedOwner(supervision, nodes.node, 'cluster', () => Promise.resolve({ lease: 'cluster' as const }));
  owner.stop();
  await sleep(20);
  const o = await submit(owner, sleeper('DEFAULT', []), { id: 'a', ms: 0 }, { lease: 'cluster' });
  t.true(!o.ok && o.error instanceof NotAvailableError);
  nodes.stop();
});

test('serial owner (the vDisk actor): tasks run one at a time in arrival order, NONE mode or not', async (t) => {
  const { supervision, nodes } = tree();
  const events: string[] = [];
  const owner = new SerialOwner(supervision, nodes.node, 'vdisk:v1', () => Promise.resolve({ lease: 'cluster' as const }));
  const def = sleeper('NONE', events);
  const outcomes = await Promise.all([['a', 20], ['b', 0], ['c', 5]].map(([id, ms]) => submit(owner, def, { id, ms }, { lease: 'cluster' })));
  t.deepEqual(events, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  t.true(outcomes.every((o) => o.ok));
  owner.stop();
  await sleep(20);
  const late = await submit(owner, def, { id: 'd', ms: 0 }, { lease: 'cluster' });
  t.true(!late.ok && late.error instanceof NotAvailableError, 'a stopped vDisk actor answers NOT_AVAILABLE');
  nodes.stop();
});

test('runTask: a failing handler is its caller\'s error, never a crash of the owner', async (t) => {
  const failing = defineTask({ module: 't', name: 'boom', summary: '', params: z.object({}), owner: { kind: 'any' }, handler: () => Promise.reject(new Error('boom')) });
  let outcome: Outcome | undefined;
  const ctx = { taskId: 'x', deadline: Date.now() + 1000, log, owner: undefined, services: {} as AgentServices, progress: () => undefined };
  const ok = await runTask({ id: 'x', def: failing, handler: failing.handler!, params: {}, ctx, settle: (o) => (outcome = o) });
  t.false(ok);
  t.true(outcome !== undefined && !outcome.ok && outcome.error instanceof Error && outcome.error.message === 'boom');
});

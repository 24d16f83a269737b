import nact from 'nact';
import { EnsureSingleTimeoutError } from '../errors.js';
import { dedupeKey, TaskGate } from '../ensure-single/gate.js';
import { fullName, type TaskDef, type TaskHandler } from '../tasks/define.js';
import type { AnyOwnerResource } from '../tasks/owner-resources.js';
import type { TaskContext } from '../tasks/context.js';

export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** One request for a task at its owner; `settle` replies to whoever waits (always called exactly once). */
export interface Invocation {
  id: string;
  def: TaskDef;
  /** The task's handler: only tasks that have one reach an owner (the invocation path answers pending ones). */
  handler: TaskHandler;
  params: Record<string, unknown>;
  ctx: TaskContext<AnyOwnerResource>;
  settle: (outcome: Outcome) => void;
  /** The caller's limit on waiting for the ensure_single turn; the task's `startTimeoutMs` when absent. */
  startTimeoutMs?: number;
}

/** The typed answer for a request that ensure_single did not run (the original silently returned None). */
export interface NotRunResult {
  ensure_single: 'discarded' | 'deduplicated';
  task: string;
  mode: string;
  /** DEFAULT: the run in progress that made this request unnecessary. */
  running_task_id?: string;
  /** DEDUPED/CHAINED: the identical run that started after this request and so covered it. */
  covered_by_task_id?: string;
  covering_outcome?: 'succeeded' | 'failed';
}

export type OwnerMsg =
  | { t: 'run'; inv: Invocation }
  | { t: 'done'; id: string; task: string; ok: boolean }
  | { t: 'expire'; id: string; task: string };

export interface OwnerState {
  gates: Map<string, TaskGate>;
  waiting: Map<string, { inv: Invocation; timer: NodeJS.Timeout }>;
  coalesced: Map<string, Invocation[]>;
}

export function initialOwnerState(): OwnerState {
  return { gates: new Map(), waiting: new Map(), coalesced: new Map() };
}

const DEFAULT_START_TIMEOUT_MS = 300_000;

/**
 * Task execution at the actor that owns the work. The mailbox serialises the ensure_single bookkeeping; the work
 * itself runs outside the mailbox, so a long task never blocks the actor and NONE-mode tasks run concurrently.
 * Callers are answered from the work's own promise, so a restart of the actor never leaves a request unanswered.
 */
export function handleOwnerMsg(state: OwnerState, msg: OwnerMsg, self: nact.Ref<OwnerMsg>): OwnerState {
  switch (msg.t) {
    case 'run':
      admit(state, msg.inv, self);
      return state;
    case 'done':
      onDone(state, msg.task, msg.id, msg.ok, self);
      return state;
    case 'expire':
      onExpire(state, msg.task, msg.id);
      return state;
  }
}

function admit(state: OwnerState, inv: Invocation, self: nact.Ref<OwnerMsg>): void {
  const { mode, ignoreArguments } = inv.def.ensureSingle;
  if (mode === 'NONE') {
    execute(inv, self, false);
    return;
  }
  const task = fullName(inv.def);
  let gate = state.gates.get(task);
  if (!gate) state.gates.set(task, (gate = new TaskGate(mode)));
  const sibling = mode === 'DEFAULT' ? runningSibling(state, inv.def.ensureSingle.extraTaskNames) : undefined;
  const decision = sibling ? { kind: 'discarded' as const, runningId: sibling } : gate.offer(inv.id, dedupeKey(inv.params, ignoreArguments));
  switch (decision.kind) {
    case 'start':
      execute(inv, self, true);
      return;
    case 'wait': {
      const wait = Math.max(0, Math.min(startTimeoutOf(inv), inv.ctx.deadline - Date.now()));
      const timer = setTimeout(() => nact.dispatch(self, { t: 'expire', id: inv.id, task }), wait);
      state.waiting.set(inv.id, { inv, timer });
      inv.ctx.log.info({ task, mode }, 'waiting for its ensure_single turn');
      return;
    }
    case 'discarded':
      inv.settle({ ok: true, value: notRun(inv, { ensure_single: 'discarded', running_task_id: decision.runningId }) });
      return;
    case 'coalesced': {
      const list = state.coalesced.get(decision.coveredBy) ?? [];
      list.push(inv);
      state.coalesced.set(decision.coveredBy, list);
      return;
    }
  }
}

/**
 * The one place a handler runs: with the owner's resources in its context, after the owner admitted it. Resolves
 * whether it succeeded, once the caller has its outcome.
 */
export async function runTask(inv: Invocation): Promise<boolean> {
  try {
    inv.settle({ ok: true, value: await inv.handler(inv.params, inv.ctx) });
    return true;
  } catch (error) {
    inv.settle({ ok: false, error });
    return false;
  }
}

function execute(inv: Invocation, self: nact.Ref<OwnerMsg>, gated: boolean): void {
  void runTask(inv).then((ok) => {
    if (gated) nact.dispatch(self, { t: 'done', id: inv.id, task: fullName(inv.def), ok });
  });
}

function onDone(state: OwnerState, task: string, id: string, ok: boolean, self: nact.Ref<OwnerMsg>): void {
  for (const inv of state.coalesced.get(id) ?? []) {
    inv.settle({ ok: true, value: notRun(inv, { ensure_single: 'deduplicated', covered_by_task_id: id, covering_outcome: ok ? 'succeeded' : 'failed' }) });
  }
  state.coalesced.delete(id);
  const gate = state.gates.get(task);
  if (!gate) return;
  for (const next of gate.finish(id)) {
    const waiting = state.waiting.get(next);
    if (!waiting) continue;
    clearTimeout(waiting.timer);
    state.waiting.delete(next);
    execute(waiting.inv, self, true);
  }
}

function onExpire(state: OwnerState, task: string, id: string): void {
  const waiting = state.waiting.get(id);
  const gate = state.gates.get(task);
  if (!waiting || !gate || !gate.cancel(id)) return;
  state.waiting.delete(id);
  const error = new EnsureSingleTimeoutError(task, startTimeoutOf(waiting.inv));
  waiting.inv.settle({ ok: false, error });
  for (const inv of state.coalesced.get(id) ?? []) inv.settle({ ok: false, error });
  state.coalesced.delete(id);
}

function runningSibling(state: OwnerState, names: readonly string[] = []): string | undefined {
  for (const name of names) {
    const running = state.gates.get(name)?.running()[0];
    if (running) return running;
  }
  return undefined;
}

function startTimeoutOf(inv: Invocation): number {
  return inv.startTimeoutMs ?? inv.def.ensureSingle.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
}

function notRun(inv: Invocation, fields: Partial<NotRunResult>): NotRunResult {
  return { ensure_single: 'discarded', task: fullName(inv.def), mode: inv.def.ensureSingle.mode, ...fields };
}

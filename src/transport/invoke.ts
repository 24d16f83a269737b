import type { NatsConnection } from 'nats';
import type { Logger } from 'pino';
import type { AgentServices } from '../agent-services.js';
import type { LocalOwner } from '../actors/local-owner.js';
import { runTask, type Outcome } from '../actors/task-owner.js';
import { DeadlineExceededError, NotImplementedError, asOvsError } from '../errors.js';
import { encode } from '../protocol/codec.js';
import { taskEventSubject } from '../protocol/subjects.js';
import { sleep } from '../supervisors/backoff.js';
import type { TaskContext } from '../tasks/context.js';
import type { AnyOwnerResource } from '../tasks/owner-resources.js';
import { fullName, type TaskDef, type TaskHandler } from '../tasks/define.js';
import type { ExecMeta, Router } from './router.js';
import { isRoutingFailure, routingFailure } from '../errors/routing-failure.js';
import { validateParams } from './validate.js';
import { hashParams } from './idempotency.js';

export interface TaskRequest {
  def: TaskDef;
  /** The parameters as they arrived (decoded, not validated). */
  params: Record<string, unknown>;
  meta: ExecMeta;
}

/** Where the outcome of one request goes: a NATS reply, the async result store, or an inline caller. */
export interface ReplySink {
  /** The request is valid and about to run: an async caller gets its task id now, the outcome later. */
  accepted?(): Promise<void>;
  reply(outcome: Outcome): void;
}

export interface InvokerDeps {
  router: Router;
  nc: NatsConnection;
  log: Logger;
  services: () => AgentServices;
  /** How long to wait for a singleton to appear (its lease moving to another agent). */
  singletonWaitMs: number;
  record(task: string, ms: number, errorType?: string): void;
}

/** The one path every task request takes, whoever sends it (a client, another agent, a schedule, a task). */
export class Invoker {
  constructor(private readonly d: InvokerDeps) {}

  /** Pending check, validation, deadline, owner (gate and execution there), statistics, reply: in this order. */
  async invoke(req: TaskRequest, sink: ReplySink): Promise<void> {
    const started = performance.now();
    let outcome: Outcome;
    try {
      outcome = { ok: true, value: await this.admitAndRun(req, sink) };
    } catch (error) {
      outcome = { ok: false, error };
    }
    this.recordOutcome(req, performance.now() - started, outcome);
    sink.reply(outcome);
  }

  /** An inline call of another task (ensure_single applies: it goes through its owner like any request). */
  call(def: TaskDef, params: Record<string, unknown>, meta: ExecMeta): Promise<unknown> {
    return new Promise((resolve, reject) => {
      void this.invoke({ def, params, meta }, { reply: (o) => (o.ok ? resolve(o.value) : reject(asOvsError(o.error))) });
    });
  }

  private async admitAndRun({ def, params: raw, meta }: TaskRequest, sink: ReplySink): Promise<unknown> {
    const handler = def.handler;
    if (!handler) throw new NotImplementedError(fullName(def), def.pending ?? 'not implemented');
    const params = validateParams(def, raw);
    if (meta.deadline <= Date.now()) throw new DeadlineExceededError(meta.deadline, 'admission');
    await sink.accepted?.();
    return withDeadline(meta.deadline, 'running', this.atOwner(def, handler, params, meta));
  }

  /** Runs at the owner the router finds, here or forwarded; waits while a singleton's lease moves between agents. */
  private async atOwner(def: TaskDef, handler: TaskHandler, params: Record<string, unknown>, meta: ExecMeta): Promise<unknown> {
    const giveUpAt = Math.min(meta.deadline, Date.now() + this.d.singletonWaitMs);
    for (let attempt = 0; ; attempt++) {
      try {
        const location = this.d.router.locate(def, params);
        if ('waitFor' in location) throw routingFailure(`no agent holds ${location.waitFor} yet`, { lease: location.waitFor });
        if ('remote' in location) {
          if (meta.forwarded) throw routingFailure('ownership moved while forwarding', { owner: location.remote });
          return await this.d.router.forward(def, params, location.remote, meta);
        }
        return await this.runHere(def, handler, params, meta, location.here);
      } catch (e) {
        const movable = def.owner.kind === 'cluster' || def.owner.kind === 'vpool';
        if (!isRoutingFailure(e) || !movable || meta.forwarded || Date.now() + 100 > giveUpAt) throw e;
        await sleep(Math.min(50 * 2 ** Math.min(attempt, 4), 500));
      }
    }
  }

  private async runHere(def: TaskDef, handler: TaskHandler, params: Record<string, unknown>, meta: ExecMeta, owner: LocalOwner | undefined): Promise<unknown> {
    const resources = owner ? await owner.resources() : undefined;
    const idem = meta.idempotency;
    if (!idem) return this.execute(def, handler, params, meta, owner, resources);
    // Claimed where it runs, right before it runs: a retry that lands anywhere finds the claim, never a second run.
    const scope = { task: fullName(def), key: idem.key, paramsHash: hashParams(params) };
    return idem.claims.once(scope, meta.taskId, meta.deadline, () => this.execute(def, handler, params, meta, owner, resources), () => idem.replayed());
  }

  private execute(def: TaskDef, handler: TaskHandler, params: Record<string, unknown>, meta: ExecMeta, owner: LocalOwner | undefined, resources: AnyOwnerResource): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const inv = { id: meta.taskId, def, handler, params, ctx: this.context(def, meta, resources), settle: (o: Outcome) => (o.ok ? resolve(o.value) : reject(asOvsError(o.error))), startTimeoutMs: meta.ensureSingleTimeoutMs };
      // `any` tasks have no owner to admit them: nothing to serialise, they run at once.
      if (owner) owner.submit(inv);
      else void runTask(inv);
    });
  }

  private context(def: TaskDef, meta: ExecMeta, owner: AnyOwnerResource): TaskContext<AnyOwnerResource> {
    const name = fullName(def);
    const { nc, log: parentLog } = this.d;
    let log: Logger | undefined;
    return {
      taskId: meta.taskId,
      deadline: meta.deadline,
      owner,
      services: this.d.services(),
      get log(): Logger {
        return (log ??= parentLog.child({ task: name, task_id: meta.taskId }));
      },
      progress: (fraction: number, message?: string) => {
        nc.publish(taskEventSubject(meta.taskId), encode({ task_id: meta.taskId, task: name, status: 'RUNNING', progress: fraction, message }));
      },
    };
  }

  private recordOutcome(req: TaskRequest, ms: number, outcome: Outcome): void {
    const error = outcome.ok ? undefined : asOvsError(outcome.error);
    this.d.record(fullName(req.def), ms, error?.type);
    if (error?.type === 'INTERNAL') this.d.log.error({ err: error, task: fullName(req.def), task_id: req.meta.taskId }, 'task failed unexpectedly');
  }
}

export function withDeadline<T>(deadline: number, stage: string, work: Promise<T>): Promise<T> {
  const remaining = deadline - Date.now();
  if (remaining <= 0) {
    // The work runs already: its own failure must not become an unhandled rejection (that stops the agent).
    work.catch(() => undefined);
    return Promise.reject(new DeadlineExceededError(deadline, stage));
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceededError(deadline, stage)), remaining);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

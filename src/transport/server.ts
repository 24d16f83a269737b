import type { Msg, NatsConnection, Subscription } from 'nats';
import type { Logger } from 'pino';
import { BadRequestError, NotImplementedError, PayloadTooLargeError, UnknownTaskError, asOvsError } from '../errors.js';
import { decodeParams } from '../protocol/codec.js';
import { H, deadlineOf } from '../protocol/headers.js';
import { AGENT_QUEUE, CONFIG_WILDCARD, MODEL_WILDCARD, TASK_RESULT, TASK_WILDCARD, nodeTaskWildcard, taskNameOf } from '../protocol/subjects.js';
import { fullName, type TaskDef } from '../tasks/define.js';
import type { ConfigStore } from '../config/store.js';
import type { ComputedFields } from '../model/computed.js';
import type { ModelView } from '../model/view.js';
import { configRequest, modelRequest } from './admin-api.js';
import { replyTo } from './envelope.js';
import type { Router } from './router.js';
import type { TaskResults } from './task-results.js';
import { validateParams } from './validate.js';
import { z } from 'zod';

export interface ServerDeps {
  me: string;
  nc: NatsConnection;
  table: ReadonlyMap<string, TaskDef>;
  router: Router;
  results: TaskResults;
  view: ModelView;
  computed: ComputedFields;
  config: ConfigStore;
  log: Logger;
  maxRequestBytes: number;
  /** Join the public queue group (tests turn it off to force forwarding through another agent). */
  joinQueue: boolean;
  onOutcome?: (task: string, ms: number, errorType?: string) => void;
}

const resultParams = z.object({ task_id: z.string().min(1).max(64).regex(/^[A-Za-z0-9-]+$/), wait_ms: z.number().int().min(0).max(3_600_000).optional() }).strict();

/** Subscribes the agent to the public and internal subjects; every message gets exactly one reply. */
export class Server {
  private readonly subs: Subscription[] = [];
  private inFlight = 0;

  constructor(private readonly d: ServerDeps) {}

  start(): void {
    const { nc, joinQueue } = this.d;
    const queue = { queue: AGENT_QUEUE };
    if (joinQueue) {
      this.subs.push(nc.subscribe(TASK_WILDCARD, { ...queue, callback: (_e, m) => void this.onTask(m, false) }));
      this.subs.push(nc.subscribe(MODEL_WILDCARD, { ...queue, callback: (_e, m) => void this.onModel(m) }));
      this.subs.push(nc.subscribe(CONFIG_WILDCARD, { ...queue, callback: (_e, m) => void this.onConfig(m) }));
    }
    this.subs.push(nc.subscribe(nodeTaskWildcard(this.d.me), { callback: (_e, m) => void this.onTask(m, true) }));
  }

  /** Stops taking new requests; in-flight ones still get their replies. */
  async stop(deadlineMs = 10_000): Promise<void> {
    for (const s of this.subs) s.unsubscribe();
    const until = Date.now() + deadlineMs;
    while (this.inFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  }

  private checkSize(m: Msg): void {
    if (m.data.length > this.d.maxRequestBytes) throw new PayloadTooLargeError(m.data.length, this.d.maxRequestBytes);
  }

  private async onTask(m: Msg, forwarded: boolean): Promise<void> {
    this.inFlight++;
    const t0 = performance.now();
    let task = m.subject;
    const outcome = await replyTo(m, this.d.me, async (encoding) => {
      this.checkSize(m);
      if (!forwarded && m.subject === TASK_RESULT) {
        const p = resultParams.safeParse(decodeParams(m.data, encoding));
        if (!p.success) throw new BadRequestError(`invalid parameters for ${TASK_RESULT}: ${p.error.issues.map((i) => i.message).join('; ')}`);
        return this.d.results.get(p.data.task_id, p.data.wait_ms ?? 0);
      }
      const name = forwarded ? m.subject.split('.').slice(4).join('.') : taskNameOf(m.subject);
      const def = name === undefined ? undefined : this.d.table.get(name);
      if (!def) throw new UnknownTaskError(m.subject);
      task = fullName(def);
      const params = validateParams(def, decodeParams(m.data, forwarded ? 'msgpack' : encoding));
      if (!def.handler) throw new NotImplementedError(task, def.pending ?? 'not implemented');
      const deadline = deadlineOf(m.headers);
      const taskId = m.headers?.get(H.taskId) || this.d.router.newTaskId();
      if (!forwarded && m.headers?.get(H.async) === '1') return this.startAsync(def, params, taskId, deadline);
      return this.d.router.execute(def, params, { taskId, deadline, forwarded });
    });
    this.inFlight--;
    this.d.onOutcome?.(task, performance.now() - t0, outcome.error?.type);
    if (outcome.error && outcome.error.type === 'INTERNAL') this.d.log.error({ err: outcome.error, subject: m.subject }, 'task failed unexpectedly');
  }

  private async startAsync(def: TaskDef, params: Record<string, unknown>, taskId: string, deadline: number): Promise<{ task_id: string }> {
    const task = fullName(def);
    const submittedAt = Date.now();
    await this.d.results.started(taskId, task);
    void this.d.router
      .execute(def, params, { taskId, deadline, forwarded: false })
      .then(
        (result) => this.d.results.finished(taskId, task, submittedAt, { result }),
        (e: unknown) => this.d.results.finished(taskId, task, submittedAt, { error: asOvsError(e) }),
      )
      .catch((e: unknown) => this.d.log.error({ err: e, task_id: taskId }, 'could not store the outcome of an async task'));
    return { task_id: taskId };
  }

  private async onModel(m: Msg): Promise<void> {
    await replyTo(m, this.d.me, async (encoding) => {
      this.checkSize(m);
      return modelRequest(this.d.view, this.d.computed, m.subject, decodeParams(m.data, encoding));
    });
  }

  private async onConfig(m: Msg): Promise<void> {
    await replyTo(m, this.d.me, async (encoding) => {
      this.checkSize(m);
      return configRequest(this.d.config, m.subject, decodeParams(m.data, encoding));
    });
  }
}

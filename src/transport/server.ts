import type { Msg, NatsConnection, Subscription } from 'nats';
import { z } from 'zod';
import type { Logger } from 'pino';
import type { Outcome } from '../actors/task-owner.js';
import { BadRequestError, PayloadTooLargeError, TaskNotFoundError, UnknownTaskError } from '../errors.js';
import { decodeParams, encodingOf, type Encoding } from '../protocol/codec.js';
import { H, deadlineOf, ensureSingleTimeoutOf } from '../protocol/headers.js';
import {
  AGENT_QUEUE, CONFIG_WILDCARD, MODEL_WILDCARD, TASK_RESULT, TASK_WILDCARD, forwardedTaskOf, modelRequestOf, nodeModelSubject, nodeModelWildcard, nodeTaskWildcard,
  publicModelSubjectOf, taskNameOf,
} from '../protocol/subjects.js';
import { fullName, type TaskDef } from '../tasks/define.js';
import type { ConfigStore } from '../config/store.js';
import type { ComputedFields } from '../model/computed.js';
import type { ModelView } from '../model/view.js';
import type { ModelStore } from '../model/store.js';
import { configRequest, modelRequest } from './admin-api.js';
import { mdsServiceRequest } from './mds-admin.js';
import { replyTo, respond } from './envelope.js';
import type { Invoker, ReplySink } from './invoke.js';
import type { TaskResults } from './task-results.js';
import { randomUUID } from 'node:crypto';
import { Debouncer } from '../cluster/debouncer.js';
import { IdempotencyClaims, hashParams, idempotencyKeyOf, idempotentTaskId, type IdempotencyScope } from './idempotency.js';
import type { ExecMeta } from './router.js';
import { validateParams } from './validate.js';

const REPLAYED = { [H.idempotentReplay]: '1' };

export interface ServerDeps {
  me: string;
  nc: NatsConnection;
  table: ReadonlyMap<string, TaskDef>;
  invoker: Invoker;
  results: TaskResults;
  view: ModelView;
  store: ModelStore;
  computed: ComputedFields;
  config: ConfigStore;
  log: Logger;
  maxRequestBytes: number;
  /** Join the public queue group (tests turn it off to force forwarding through another agent). */
  joinQueue: boolean;
}

const resultParams = z.object({ task_id: z.string().min(1).max(64).regex(/^[A-Za-z0-9-]+$/), wait_ms: z.number().int().min(0).max(3_600_000).optional() }).strict();

/** Subscribes the agent to the public and internal subjects; every message gets exactly one reply. */
export class Server {
  private readonly subs: Subscription[] = [];
  private inFlight = 0;

  /** The original's debounced DTL checkup 60 s after a StorageRouter's domains changed (several changes, one run). */
  private readonly domainsChanged = new Debouncer<string>(60_000, (sr) => void this.checkupAfterDomainChange(sr));

  private readonly claims: IdempotencyClaims;

  constructor(private readonly d: ServerDeps) {
    this.claims = new IdempotencyClaims(d.results.kv, d.me, d.log);
  }

  private async checkupAfterDomainChange(storagerouterGuid: string): Promise<void> {
    // MDS slaves follow the domains too (spec §4.5: triggered with the DTL checkup).
    const mds = this.d.table.get('mds.mds_checkup');
    if (mds) {
      void this.d.invoker.call(mds, {}, { taskId: randomUUID(), deadline: Date.now() + 600_000, forwarded: false }).catch((err: unknown) => {
        this.d.log.warn({ err, storagerouter_guid: storagerouterGuid }, 'MDS checkup after a domain change had errors');
      });
    }
    const def = this.d.table.get('vdisk.dtl_checkup');
    if (!def) return;
    const vpools = new Set(this.d.view.list('storagedriver', { storagerouter_guid: storagerouterGuid }).map((sd) => String(sd.vpool_guid)));
    for (const vpool_guid of vpools) {
      await this.d.invoker.call(def, { vpool_guid }, { taskId: randomUUID(), deadline: Date.now() + 600_000, forwarded: false }).catch((err: unknown) => {
        this.d.log.warn({ err, vpool_guid, storagerouter_guid: storagerouterGuid }, 'DTL checkup after a domain change had errors');
      });
    }
  }

  start(): void {
    const { nc, joinQueue } = this.d;
    const queue = { queue: AGENT_QUEUE };
    if (joinQueue) {
      this.subs.push(nc.subscribe(TASK_WILDCARD, { ...queue, callback: (_e, m) => void this.onTask(m, false) }));
      this.subs.push(nc.subscribe(MODEL_WILDCARD, { ...queue, callback: (_e, m) => void this.onModel(m) }));
      this.subs.push(nc.subscribe(CONFIG_WILDCARD, { ...queue, callback: (_e, m) => void this.onConfig(m) }));
    }
    this.subs.push(nc.subscribe(nodeTaskWildcard(this.d.me), { callback: (_e, m) => void this.onTask(m, true) }));
    this.subs.push(nc.subscribe(nodeModelWildcard(this.d.me), { callback: (_e, m) => void this.onModel(m, publicModelSubjectOf(m.subject)) }));
  }

  /** Stops taking new requests; in-flight ones still get their replies. */
  async stop(deadlineMs = 10_000): Promise<void> {
    this.domainsChanged.stop();
    for (const s of this.subs) s.unsubscribe();
    const until = Date.now() + deadlineMs;
    while (this.inFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  }

  private checkSize(m: Msg): void {
    if (m.data.length > this.d.maxRequestBytes) throw new PayloadTooLargeError(m.data.length, this.d.maxRequestBytes);
  }

  /** Decodes a task request and hands it to the invocation path; what cannot become a request is answered here. */
  private async onTask(m: Msg, forwarded: boolean): Promise<void> {
    this.inFlight++;
    const encoding: Encoding = forwarded ? 'msgpack' : encodingOf(m.headers?.get(H.contentType));
    try {
      this.checkSize(m);
      if (!forwarded && m.subject === TASK_RESULT) {
        await replyTo(m, this.d.me, (enc) => this.taskResult(m, enc));
        return;
      }
      const name = forwarded ? forwardedTaskOf(m.subject)?.taskName : taskNameOf(m.subject);
      const def = name === undefined ? undefined : this.d.table.get(name);
      if (!def) throw new UnknownTaskError(m.subject);
      const params = decodeParams(m.data, encoding);
      const key = idempotencyKeyOf(m.headers);
      // Retries of one idempotent request share its task id (an async retry answers the first attempt's).
      const scope = key !== undefined && def.handler ? { task: fullName(def), key, paramsHash: hashParams(validateParams(def, params)) } : undefined;
      const replay = { replayed: false };
      const meta: ExecMeta = {
        taskId: m.headers?.get(H.taskId) || (scope ? idempotentTaskId(scope) : randomUUID()), deadline: deadlineOf(m.headers), forwarded, ensureSingleTimeoutMs: ensureSingleTimeoutOf(m.headers),
        ...(key !== undefined ? { idempotency: { key, claims: this.claims, replayed: () => void (replay.replayed = true) } } : {}),
      };
      const async = !forwarded && m.headers?.get(H.async) === '1';
      if (async && scope && (await this.acceptedBefore(scope, meta.taskId))) {
        respond(m, this.d.me, encoding, { ok: true, value: { task_id: meta.taskId } }, REPLAYED);
        return;
      }
      await this.d.invoker.invoke({ def, params, meta }, async ? this.asyncSink(m, encoding, def, meta.taskId) : this.replySink(m, encoding, replay));
    } catch (error) {
      respond(m, this.d.me, encoding, { ok: false, error });
    } finally {
      this.inFlight--;
    }
  }

  private replySink(m: Msg, encoding: Encoding, replay?: { replayed: boolean }): ReplySink {
    return { reply: (outcome) => respond(m, this.d.me, encoding, outcome, replay?.replayed ? REPLAYED : undefined) };
  }

  /** An async idempotent request whose first attempt was accepted already (its task record exists); a key reused for other parameters fails here. */
  private async acceptedBefore(scope: IdempotencyScope, taskId: string): Promise<boolean> {
    await this.claims.checkReuse(scope);
    try {
      await this.d.results.get(taskId);
      return true;
    } catch (e) {
      if (e instanceof TaskNotFoundError) return false;
      throw e;
    }
  }

  /** `Ovs-Async: 1`: the caller gets the task id once the request is valid; the outcome is kept for `ovs.task.result`. */
  private asyncSink(m: Msg, encoding: Encoding, def: TaskDef, taskId: string): ReplySink {
    let finish: ((outcome: Outcome) => void) | undefined;
    return {
      accepted: async () => {
        finish = await this.d.results.started(taskId, fullName(def), this.d.log);
        respond(m, this.d.me, encoding, { ok: true, value: { task_id: taskId } });
      },
      reply: (outcome) => (finish ? finish(outcome) : respond(m, this.d.me, encoding, outcome)),
    };
  }

  private async taskResult(m: Msg, encoding: Encoding): Promise<unknown> {
    const p = resultParams.safeParse(decodeParams(m.data, encoding));
    if (!p.success) throw new BadRequestError(`invalid parameters for ${TASK_RESULT}: ${p.error.issues.map((i) => i.message).join('; ')}`);
    return this.d.results.get(p.data.task_id, p.data.wait_ms ?? 0);
  }

  /**
   * A model read. A vDisk's computed fields come from its volume driver, so `vdisk.get` for a vDisk served by
   * another agent is relayed there (`relayedAs` is the public subject when this is such a relay); if that agent does
   * not answer, this one answers with what it knows (live fields UNKNOWN).
   */
  private async onModel(m: Msg, relayedAs?: string): Promise<void> {
    const subject = relayedAs ?? m.subject;
    const owner = relayedAs === undefined ? this.computedAt(m) : undefined;
    if (owner && (await this.relay(m, nodeModelSubject(owner, 'vdisk', 'get')))) return;
    await replyTo(m, this.d.me, async (encoding) => {
      this.checkSize(m);
      return modelRequest(this.d.view, this.d.computed, this.d.store, subject, decodeParams(m.data, encoding), (sr) => this.domainsChanged.touch(sr),
        (op, params) => mdsServiceRequest({ view: this.d.view, store: this.d.store, config: this.d.config, nc: this.d.nc }, op, params, subject));
    });
  }

  /** The agent that computes the live fields of the object a `vdisk.get` asks for, when it is not this one. */
  private computedAt(m: Msg): string | undefined {
    const request = modelRequestOf(m.subject);
    if (request?.type !== 'vdisk' || request.op !== 'get' || m.data.length > this.d.maxRequestBytes) return undefined;
    try {
      const { guid } = decodeParams(m.data, encodingOf(m.headers?.get(H.contentType)));
      const sd = this.d.view.find('storagedriver', String(this.d.view.find('vdisk', String(guid))?.storagedriver_guid));
      const node = sd ? String(sd.storagerouter_guid) : undefined;
      return node !== this.d.me ? node : undefined;
    } catch {
      return undefined; // the local answer says what is wrong with the request
    }
  }

  private async relay(m: Msg, subject: string): Promise<boolean> {
    try {
      const reply = await this.d.nc.request(subject, m.data, { timeout: 5_000, ...(m.headers ? { headers: m.headers } : {}) });
      m.respond(reply.data, reply.headers ? { headers: reply.headers } : undefined);
      return true;
    } catch {
      return false;
    }
  }

  private async onConfig(m: Msg): Promise<void> {
    await replyTo(m, this.d.me, async (encoding) => {
      this.checkSize(m);
      return configRequest(this.d.config, m.subject, decodeParams(m.data, encoding));
    });
  }
}

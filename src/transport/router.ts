import { randomUUID } from 'node:crypto';
import type nact from 'nact';
import type { NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { DeadlineExceededError, NotAvailableError, NotImplementedError, fromWire, type WireError } from '../errors.js';
import { decode, encode } from '../protocol/codec.js';
import { H, headersOf } from '../protocol/headers.js';
import { nodeTaskSubject, taskEventSubject } from '../protocol/subjects.js';
import { fullName, type TaskDef } from '../tasks/define.js';
import type { TaskContext } from '../tasks/context.js';
import type { AgentServices } from '../agent-services.js';
import type { LeaseTable } from '../cluster/lease-table.js';
import type { Singletons } from '../cluster/singletons.js';
import type { Supervision } from '../supervisors/supervision.js';
import { sleep } from '../supervisors/backoff.js';
import { executeUngated, type Invocation, type Outcome, type OwnerMsg } from '../actors/task-owner.js';

export interface ExecMeta {
  taskId: string;
  deadline: number;
  /** Already forwarded once: execute here or fail, never forward again (no loops while ownership moves). */
  forwarded: boolean;
}

type Target = { local: nact.Ref<OwnerMsg> | undefined } | { remote: string } | { waitFor: string };

export interface RouterDeps {
  me: string;
  nc: NatsConnection;
  services: () => AgentServices;
  leases: LeaseTable;
  singletons: Singletons;
  supervision: Supervision;
  nodeOwner: () => nact.Ref<OwnerMsg> | undefined;
  log: Logger;
  /** How long to wait for a singleton to appear (lease moving to another agent). */
  singletonWaitMs: number;
}

/** Finds the owner of a task and gets it executed there: locally through the owner's mailbox, or forwarded. */
export class Router {
  constructor(private readonly d: RouterDeps) {}

  async execute(def: TaskDef, params: Record<string, unknown>, meta: ExecMeta): Promise<unknown> {
    const giveUpAt = Math.min(meta.deadline, Date.now() + this.d.singletonWaitMs);
    for (let attempt = 0; ; attempt++) {
      const target = this.resolve(def, params);
      try {
        if ('waitFor' in target) throw new NotAvailableError(`no agent holds ${target.waitFor} yet`, { lease: target.waitFor });
        if ('remote' in target) {
          if (meta.forwarded) throw new NotAvailableError('ownership moved while forwarding', { owner: target.remote });
          return await this.forward(def, params, target.remote, meta);
        }
        return await this.runLocal(def, params, target.local, meta);
      } catch (e) {
        const movable = def.owner.kind === 'cluster' || def.owner.kind === 'vpool';
        if (!(e instanceof NotAvailableError) || !movable || meta.forwarded || Date.now() + 100 > giveUpAt) throw e;
        await sleep(Math.min(50 * 2 ** Math.min(attempt, 4), 500));
      }
    }
  }

  private resolve(def: TaskDef, params: Record<string, unknown>): Target {
    const owner = def.owner;
    switch (owner.kind) {
      case 'any':
        return { local: undefined };
      case 'node': {
        const guid = String(params[owner.param]);
        this.d.services().view.get('storagerouter', guid);
        return guid === this.d.me ? { local: this.d.nodeOwner() } : { remote: guid };
      }
      case 'cluster':
        return this.singleton('cluster');
      case 'vpool': {
        const guid = String(params[owner.param]);
        this.d.services().view.get('vpool', guid);
        return this.singleton(`vpool.${guid}`);
      }
      case 'vdisk': {
        const vdisk = this.d.services().view.get('vdisk', String(params[owner.param]));
        if (typeof vdisk.storagedriver_guid !== 'string') throw new NotAvailableError(`vDisk ${vdisk.guid} has no owner`, { vdisk_guid: vdisk.guid });
        const target = this.storagedriver(vdisk.storagedriver_guid);
        if (!('local' in target)) return target;
        const actor = this.d.services().storagedrivers.vdiskActor(vdisk.storagedriver_guid, vdisk.guid);
        if (!actor) throw new NotAvailableError(`vDisk ${vdisk.guid} has no running owner here`, { vdisk_guid: vdisk.guid });
        return { local: actor as nact.Ref<OwnerMsg> };
      }
      case 'storagedriver':
        return this.storagedriver(String(params[owner.param]));
    }
  }

  private storagedriver(guid: string): Target {
    const sd = this.d.services().view.get('storagedriver', guid);
    const node = String(sd.storagerouter_guid);
    if (node !== this.d.me) return { remote: node };
    const actor = this.d.services().storagedrivers.actor(guid);
    if (!actor) throw new NotAvailableError(`StorageDriver ${String(sd.storagedriver_id)} is not running on this node`, { storagedriver_guid: guid });
    return { local: actor as nact.Ref<OwnerMsg> };
  }

  private singleton(lease: string): Target {
    const local = this.d.singletons.local(lease);
    if (local) return { local: local as nact.Ref<OwnerMsg> };
    const holder = this.d.leases.holderOf(lease);
    if (holder && holder !== this.d.me) return { remote: holder };
    return { waitFor: lease };
  }

  private runLocal(def: TaskDef, params: Record<string, unknown>, ref: nact.Ref<OwnerMsg> | undefined, meta: ExecMeta): Promise<unknown> {
    const ctx = this.context(def, meta);
    return withDeadline(meta.deadline, 'running', new Promise<unknown>((resolve, reject) => {
      const settle = (o: Outcome): void => (o.ok ? resolve(o.value) : reject(o.error));
      if (ref === undefined) {
        if (!def.handler) return reject(new NotImplementedError(fullName(def), def.pending ?? 'not implemented'));
        Promise.resolve().then(() => def.handler!(params, ctx)).then(resolve, reject);
        return;
      }
      if (!this.d.supervision.isRunning(ref)) {
        reject(new NotAvailableError(`the owner of ${fullName(def)} is not running on this agent`));
        return;
      }
      const inv: Invocation = { id: meta.taskId, def, params, ctx, settle };
      // Without ensure_single there is nothing to serialise: the owner's mailbox would only add an event-loop turn
      // per request (nact dispatches one message per setImmediate), so the work starts here under the owner's name.
      if (def.ensureSingle.mode === 'NONE' && def.owner.kind !== 'vdisk') executeUngated(inv);
      else this.d.supervision.tell(ref, { t: 'run', inv });
    }));
  }

  private async forward(def: TaskDef, params: Record<string, unknown>, node: string, meta: ExecMeta): Promise<unknown> {
    const remaining = meta.deadline - Date.now();
    if (remaining <= 0) throw new DeadlineExceededError(meta.deadline, 'forwarding');
    let reply;
    try {
      reply = await this.d.nc.request(nodeTaskSubject(node, fullName(def)), encode(params), {
        timeout: remaining,
        headers: headersOf({ [H.forwarded]: '1', [H.deadline]: String(meta.deadline), [H.taskId]: meta.taskId }),
      });
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === '503') throw new NotAvailableError(`StorageRouter ${node} is not reachable (no agent answers for it)`, { storagerouter_guid: node });
      if (code === 'TIMEOUT') throw new DeadlineExceededError(meta.deadline, `waiting for StorageRouter ${node}`);
      throw e;
    }
    const body = decode(reply.data) as { ok: boolean; result?: unknown; error?: WireError };
    if (body.ok) return body.result;
    throw fromWire(body.error ?? { type: 'INTERNAL', message: 'malformed reply', retryable: false, details: {} });
  }

  private context(def: TaskDef, meta: ExecMeta): TaskContext {
    const services = this.d.services();
    const name = fullName(def);
    const nc = this.d.nc;
    const parentLog = this.d.log;
    let log: Logger | undefined;
    return {
      taskId: meta.taskId,
      deadline: meta.deadline,
      services,
      get log(): Logger {
        return (log ??= parentLog.child({ task: name, task_id: meta.taskId }));
      },
      progress(fraction: number, message?: string) {
        nc.publish(taskEventSubject(meta.taskId), encode({ task_id: meta.taskId, task: name, status: 'RUNNING', progress: fraction, message }));
      },
    };
  }

  newTaskId(): string {
    return randomUUID();
  }
}

function withDeadline<T>(deadline: number, stage: string, work: Promise<T>): Promise<T> {
  const remaining = deadline - Date.now();
  if (remaining <= 0) return Promise.reject(new DeadlineExceededError(deadline, stage));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceededError(deadline, stage)), remaining);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

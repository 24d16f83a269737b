import type { NatsConnection } from 'nats';
import { DeadlineExceededError, NotAvailableError } from '../errors.js';
import { encode } from '../protocol/codec.js';
import { H, headersOf } from '../protocol/headers.js';
import { nodeTaskSubject } from '../protocol/subjects.js';
import type { ModelReader } from '../model/schema.js';
import type { LocalOwner } from '../actors/local-owner.js';
import { fullName, type TaskDef } from '../tasks/define.js';
import { requestNode } from './request-owner.js';
import { routingFailure } from '../errors/routing-failure.js';
import type { IdempotentRequest } from './idempotency.js';

export interface ExecMeta {
  taskId: string;
  deadline: number;
  /** Already forwarded once: execute here or fail, never forward again (no loops while ownership moves). */
  forwarded: boolean;
  /** The caller's own limit on waiting for the ensure_single turn (instead of the task's start timeout). */
  ensureSingleTimeoutMs?: number;
  /** The request's idempotency key: the agent that runs the task claims it there (so it travels with forwarding). */
  idempotency?: IdempotentRequest;
}

/** The owners this agent runs, looked up without side effects (nothing is spawned by a lookup). */
export interface OwnerLookup {
  node(): LocalOwner | undefined;
  singleton(lease: string): LocalOwner | undefined;
  storagedriver(storagedriverGuid: string): LocalOwner | undefined;
  vdisk(vdiskGuid: string): LocalOwner | undefined;
}

/** Where a task runs: at an owner here (none for `any` tasks), at another StorageRouter, or nowhere yet. */
export type Location = { here: LocalOwner | undefined } | { remote: string } | { waitFor: string };

export interface RouterDeps {
  me: string;
  nc: NatsConnection;
  model: ModelReader;
  leases: { holderOf(lease: string): string | undefined };
  owners: OwnerLookup;
}

/** Finds the owner of a task from the model and the leases, and forwards to the agent that runs it elsewhere. */
export class Router {
  constructor(private readonly d: RouterDeps) {}

  locate(def: TaskDef, params: Record<string, unknown>): Location {
    const owner = def.owner;
    switch (owner.kind) {
      case 'any':
        return { here: undefined };
      case 'node': {
        const guid = String(params[owner.param]);
        this.d.model.get('storagerouter', guid);
        return guid === this.d.me ? this.here(this.d.owners.node(), `StorageRouter ${guid}`) : { remote: guid };
      }
      case 'cluster':
        return this.singleton('cluster');
      case 'vpool': {
        const guid = String(params[owner.param]);
        const lease = `vpool.${guid}`;
        // A vPool this agent's view has not caught up with yet: its lease holder has seen it, so the request goes there.
        const holder = this.d.leases.holderOf(lease);
        if (!this.d.model.find('vpool', guid) && (!holder || holder === this.d.me)) this.d.model.get('vpool', guid);
        return this.singleton(lease);
      }
      case 'vdisk': {
        const vdisk = this.d.model.get('vdisk', String(params[owner.param]));
        if (typeof vdisk.storagedriver_guid !== 'string') throw new NotAvailableError(`vDisk ${vdisk.guid} has no owner`, { vdisk_guid: vdisk.guid });
        const node = this.nodeOf(vdisk.storagedriver_guid);
        return node === this.d.me ? this.here(this.d.owners.vdisk(vdisk.guid), `vDisk ${vdisk.guid}`) : { remote: node };
      }
      case 'storagedriver': {
        const guid = String(params[owner.param]);
        const node = this.nodeOf(guid);
        return node === this.d.me ? this.here(this.d.owners.storagedriver(guid), `StorageDriver ${guid}`) : { remote: node };
      }
    }
  }

  async forward(def: TaskDef, params: Record<string, unknown>, node: string, meta: ExecMeta): Promise<unknown> {
    const remaining = meta.deadline - Date.now();
    if (remaining <= 0) throw new DeadlineExceededError(meta.deadline, 'forwarding');
    return requestNode(this.d.nc, node, nodeTaskSubject(node, fullName(def)), encode(params), {
      timeout: remaining,
      deadline: meta.deadline,
      headers: headersOf({
        [H.forwarded]: '1', [H.deadline]: String(meta.deadline), [H.taskId]: meta.taskId, [H.ensureSingleTimeout]: meta.ensureSingleTimeoutMs?.toString(),
        [H.idempotencyKey]: meta.idempotency?.key,
      }),
      onReplyHeaders: (h) => {
        if (h?.get(H.idempotentReplay) === '1') meta.idempotency?.replayed();
      },
    });
  }

  private nodeOf(storagedriverGuid: string): string {
    return String(this.d.model.get('storagedriver', storagedriverGuid).storagerouter_guid);
  }

  private here(owner: LocalOwner | undefined, what: string): Location {
    if (!owner) throw routingFailure(`${what} has no running owner on this agent`, { owner: what });
    return { here: owner };
  }

  private singleton(lease: string): Location {
    const local = this.d.owners.singleton(lease);
    if (local) return { here: local };
    const holder = this.d.leases.holderOf(lease);
    if (holder && holder !== this.d.me) return { remote: holder };
    return { waitFor: lease };
  }
}

import type nact from 'nact';
import { routingFailure } from '../errors/routing-failure.js';
import { fullName } from '../tasks/define.js';
import type { RestartPolicy, Supervision } from '../supervisors/supervision.js';
import type { AnyOwnerResource } from '../tasks/owner-resources.js';
import type { LocalOwner } from './local-owner.js';
import { handleOwnerMsg, initialOwnerState, runTask, type Invocation, type OwnerMsg, type OwnerState } from './task-owner.js';

/** Extra messages an owner may understand besides task runs (a heartbeat, a crash probe in tests). */
export type OwnerExtension = (msg: { t: string }) => Promise<void> | void;

/**
 * An owner whose mailbox applies each task's ensure_single mode (a StorageRouter, the cluster and vPool singletons,
 * a StorageDriver). `name` may hold ':' and '@' for readability; nact only takes URI-safe names.
 */
export class GatedOwner<R extends AnyOwnerResource> implements LocalOwner<R> {
  readonly ref: nact.Ref<OwnerMsg | { t: string }>;

  constructor(
    private readonly supervision: Supervision,
    parent: nact.Ref<unknown>,
    readonly name: string,
    private readonly held: () => Promise<R>,
    extension?: OwnerExtension,
    policy?: RestartPolicy,
  ) {
    this.ref = supervision.spawn<OwnerState, OwnerMsg | { t: string }>(
      parent,
      name.replace(/[:@]/g, '.'),
      {
        initialState: initialOwnerState,
        handle: async (state, msg, ctx) => {
          if (isOwnerMsg(msg)) return handleOwnerMsg(state, msg, ctx.self);
          await extension?.(msg);
          return state;
        },
      },
      policy,
    );
  }

  resources(): Promise<R> {
    return this.held();
  }

  submit(inv: Invocation): void {
    if (!this.supervision.isRunning(this.ref)) {
      inv.settle({ ok: false, error: routingFailure(`the owner of ${fullName(inv.def)} is not running on this agent`, { owner: this.name }) });
      return;
    }
    // Without ensure_single there is nothing to serialise: the mailbox would only add an event-loop turn per request
    // (nact dispatches one message per setImmediate), so the work starts at once under the owner's name.
    if (inv.def.ensureSingle.mode === 'NONE') void runTask(inv);
    else this.supervision.tell(this.ref, { t: 'run', inv });
  }

  tell(msg: { t: string }): void {
    this.supervision.tell(this.ref, msg);
  }

  stop(): void {
    this.supervision.stop(this.ref);
  }
}

function isOwnerMsg(msg: OwnerMsg | { t: string }): msg is OwnerMsg {
  return msg.t === 'run' || msg.t === 'done' || msg.t === 'expire';
}

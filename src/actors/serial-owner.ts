import type nact from 'nact';
import { routingFailure } from '../errors/routing-failure.js';
import { fullName } from '../tasks/define.js';
import type { Supervision } from '../supervisors/supervision.js';
import type { AnyOwnerResource } from '../tasks/owner-resources.js';
import type { LocalOwner } from './local-owner.js';
import { runTask, type Invocation } from './task-owner.js';

/**
 * An owner that runs its tasks one at a time, in arrival order: the vDisk actor. Its mailbox is the serialisation
 * (the original used a per-volume mutex for this), so two tasks on one vDisk never interleave, while tasks on
 * different vDisks run in parallel. A task's failure is its caller's error, not a crash of the actor.
 */
export class SerialOwner<R extends AnyOwnerResource> implements LocalOwner<R> {
  readonly ref: nact.Ref<Invocation>;

  constructor(
    private readonly supervision: Supervision,
    parent: nact.Ref<unknown>,
    readonly name: string,
    private readonly held: () => Promise<R>,
  ) {
    this.ref = supervision.spawn<null, Invocation>(parent, name.replace(/[:@]/g, '.'), {
      initialState: () => null,
      handle: async (state, inv) => {
        await runTask(inv);
        return state;
      },
    });
  }

  resources(): Promise<R> {
    return this.held();
  }

  submit(inv: Invocation): void {
    if (!this.supervision.tell(this.ref, inv)) {
      inv.settle({ ok: false, error: routingFailure(`the owner of ${fullName(inv.def)} is not running on this agent`, { owner: this.name }) });
    }
  }

  stop(): void {
    this.supervision.stop(this.ref);
  }
}

import type nact from 'nact';
import { NotImplementedError } from '../errors.js';
import { fullName } from '../tasks/define.js';
import type { RestartPolicy, Supervision } from '../supervisors/supervision.js';
import type { Invocation } from './task-owner.js';

/**
 * An owner that runs its tasks one at a time, in arrival order: the vDisk actor. Its mailbox is the serialisation
 * (the original used a per-volume mutex for this), so two tasks on one vDisk never interleave, while tasks on
 * different vDisks run in parallel. A task's failure is its caller's error, not a crash of the actor.
 */
export function spawnSerialOwner(supervision: Supervision, parent: nact.Ref<any>, name: string, policy?: RestartPolicy): nact.Ref<{ t: string; inv?: Invocation }> {
  return supervision.spawn<null, { t: string; inv?: Invocation }>(
    parent,
    name.replace(/:/g, '.'),
    {
      initialState: () => null,
      handle: async (state, msg) => {
        if (msg.t !== 'run' || !msg.inv) return state;
        const inv = msg.inv;
        try {
          if (!inv.def.handler) throw new NotImplementedError(fullName(inv.def), inv.def.pending ?? 'not implemented');
          inv.settle({ ok: true, value: await inv.def.handler(inv.params, inv.ctx) });
        } catch (error) {
          inv.settle({ ok: false, error });
        }
        return state;
      },
    },
    policy,
  );
}

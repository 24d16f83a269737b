import type nact from 'nact';
import type { RestartPolicy, Supervision } from '../supervisors/supervision.js';
import { handleOwnerMsg, initialOwnerState, type OwnerMsg, type OwnerState } from './task-owner.js';

/** Extra messages an owner may understand besides task runs (a heartbeat, a crash probe in tests). */
export type OwnerExtension = (msg: { t: string }, state: OwnerState) => Promise<void> | void;

/**
 * Spawns an actor that owns tasks (a StorageRouter, the cluster singleton, a vPool). `name` may hold ':' for
 * readability; nact only allows URI-safe names, so it is mapped for nact and kept for our tree.
 */
export function spawnOwner(
  supervision: Supervision,
  parent: nact.Ref<any>,
  name: string,
  extension?: OwnerExtension,
  policy?: RestartPolicy,
): nact.Ref<OwnerMsg | { t: string }> {
  return supervision.spawn<OwnerState, OwnerMsg | { t: string }>(
    parent,
    name.replace(/:/g, '.').replace(/@/g, '.'),
    {
      initialState: initialOwnerState,
      handle: async (state, msg, ctx) => {
        if (msg.t === 'run' || msg.t === 'done' || msg.t === 'expire') return handleOwnerMsg(state, msg as OwnerMsg, ctx.self as nact.Ref<OwnerMsg>);
        await extension?.(msg, state);
        return state;
      },
    },
    policy,
  );
}

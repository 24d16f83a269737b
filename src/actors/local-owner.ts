import type { AnyOwnerResource } from '../tasks/owner-resources.js';
import type { Invocation } from './task-owner.js';

/** An actor of this agent that owns tasks: it hands its resources to them and admits them in its own order. */
export interface LocalOwner<R extends AnyOwnerResource = AnyOwnerResource> {
  /** Path-like name in the actor tree (`storagerouter:<guid>`, `vdisk:<guid>`). */
  readonly name: string;
  /** What the owner holds, once it can run tasks (a StorageDriver's volume driver after it started). */
  resources(): Promise<R>;
  /** Admits a task: the ensure_single gate or the serial mailbox decides when it runs; `inv.settle` answers. */
  submit(inv: Invocation): void;
}

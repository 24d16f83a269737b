import nact from 'nact';
import type { Logger } from 'pino';
import type { Supervision } from '../supervisors/supervision.js';
import { spawnOwner, type OwnerExtension } from './owner-actor.js';
import type { OwnerMsg } from './task-owner.js';

/**
 * The actor tree of one agent:
 *   node ─ storagerouter:<guid>   (tasks pinned to this host, heartbeat)
 *        ─ cluster                (cluster singleton, where its lease is held)
 *        ─ vpool:<guid>           (vPool singletons, where their leases are held)
 */
export class NodeTree {
  readonly system: nact.Ref<never>;
  readonly node: nact.Ref<unknown>;
  storagerouter: nact.Ref<OwnerMsg | { t: string }> | undefined;

  constructor(private readonly supervision: Supervision, log: Logger) {
    this.system = nact.start();
    supervision.nameRoot(this.system, '');
    this.node = supervision.spawn<null, unknown>(this.system, 'node', {
      initialState: () => null,
      handle: (state) => state,
    });
    log.debug('actor tree started');
  }

  spawnStorageRouter(guid: string, extension: OwnerExtension): nact.Ref<OwnerMsg | { t: string }> {
    this.storagerouter = spawnOwner(this.supervision, this.node, `storagerouter:${guid}`, extension);
    return this.storagerouter;
  }

  spawnSingleton(name: string): nact.Ref<OwnerMsg | { t: string }> {
    return spawnOwner(this.supervision, this.node, name);
  }

  stop(): void {
    nact.stop(this.system);
  }
}

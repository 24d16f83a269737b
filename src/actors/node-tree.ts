import nact from 'nact';
import type { Logger } from 'pino';
import type { Supervision } from '../supervisors/supervision.js';

/**
 * The root of one agent's actor tree. Owners hang below `node`:
 *   node ─ storagerouter:<guid>                 (tasks pinned to this host, heartbeat)
 *        ─ cluster                              (cluster singleton, where its lease is held)
 *        ─ vpool:<guid>                         (vPool singletons, where their leases are held)
 *        ─ storagedriver:<vpool>@<sr> ─ vdisk:<guid>   (volume driver + NBD listener; one actor per vDisk)
 */
export class NodeTree {
  readonly system: nact.Ref<never>;
  readonly node: nact.Ref<unknown>;

  constructor(supervision: Supervision, log: Logger) {
    this.system = nact.start();
    supervision.nameRoot(this.system, '');
    this.node = supervision.spawn<null, unknown>(this.system, 'node', {
      initialState: () => null,
      handle: (state) => state,
    });
    log.debug('actor tree started');
  }

  stop(): void {
    nact.stop(this.system);
  }
}

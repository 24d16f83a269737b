import type { AgentServices } from '../agent-services.js';
import type { NodeState } from '../dataplane/driver/registry.js';
import { opsSubject } from '../protocol/subjects.js';

/**
 * Which StorageDrivers can take work now, for one DTL checkup (spec §3.20's per-call cache) or one failover: the
 * StorageRouter's agent answers and its StorageDriver of the vPool is not OFFLINE in the vPool's registry (the
 * failure detector's verdict). The original asked SSH and systemd; here the agent runs each StorageDriver it serves.
 */
export class UsableStorageDrivers {
  private readonly answers = new Map<string, Promise<boolean>>();
  private readonly states = new Map<string, Promise<Record<string, NodeState>>>();
  private readonly known = new Map<string, boolean>();

  constructor(private readonly s: AgentServices) {}

  /** Probes every StorageDriver of the vPool once; `isUsable` then answers synchronously. */
  async probeVpool(vpoolGuid: string, anySd: string): Promise<void> {
    let states = this.states.get(vpoolGuid);
    if (!states) {
      states = this.s.voldrv(anySd).node_states({}).catch(() => ({}));
      this.states.set(vpoolGuid, states);
    }
    const nodeStates = await states;
    await Promise.all(this.s.view.list('storagedriver', { vpool_guid: vpoolGuid }).map(async (sd) => {
      const sr = String(sd.storagerouter_guid);
      const up = await this.answering(sr);
      this.known.set(`${vpoolGuid}/${sr}`, up && nodeStates[String(sd.storagedriver_id)] !== 'OFFLINE');
    }));
  }

  isUsable(vpoolGuid: string, storagerouterGuid: string): boolean {
    return this.known.get(`${vpoolGuid}/${storagerouterGuid}`) ?? false;
  }

  private answering(sr: string): Promise<boolean> {
    let up = this.answers.get(sr);
    if (!up) {
      up = this.s.nc.request(opsSubject(sr, 'info'), new Uint8Array(), { timeout: 1_000 }).then(() => true, () => false);
      this.answers.set(sr, up);
    }
    return up;
  }
}

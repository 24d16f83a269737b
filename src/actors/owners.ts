import type nact from 'nact';
import type { Logger } from 'pino';
import type { KV } from 'nats';
import { Singletons } from '../cluster/singletons.js';
import type { StorageDriverManager } from '../storagedriver/manager.js';
import type { Supervision } from '../supervisors/supervision.js';
import type { AnyOwnerResource, OwnerResources } from '../tasks/owner-resources.js';
import type { OwnerLookup } from '../transport/router.js';
import { GatedOwner, type OwnerExtension } from './gated-owner.js';

export interface OwnersDeps {
  me: string;
  supervision: Supervision;
  /** The node actor every owner of this agent hangs under. */
  parent: nact.Ref<unknown>;
  leaseKv: KV;
  leaseTtlMs: number;
  storagedrivers: StorageDriverManager;
  /** Messages for this StorageRouter's own actor besides tasks (the task-queue heartbeat). */
  onNodeMessage: OwnerExtension;
  log: Logger;
}

/** Runs a singleton here while this agent holds its lease; `onStart` may start work that lives with it. */
export interface SingletonOwnerSpec {
  lease: string;
  name: string;
  onStart?(): void;
  onStop?(): void;
}

/** Every owner actor of this agent: its StorageRouter, the singletons whose leases it holds, its StorageDrivers and vDisks. */
export class Owners implements OwnerLookup {
  private readonly storagerouter: GatedOwner<OwnerResources['node']>;
  private readonly singletons: Singletons<GatedOwner<AnyOwnerResource>>;

  constructor(private readonly d: OwnersDeps) {
    const node = Promise.resolve({ storagerouterGuid: d.me });
    this.storagerouter = new GatedOwner(d.supervision, d.parent, `storagerouter:${d.me}`, () => node, d.onNodeMessage);
    this.singletons = new Singletons<GatedOwner<AnyOwnerResource>>(d.leaseKv, d.me, d.leaseTtlMs, (owner) => owner.stop(), d.log);
  }

  node(): GatedOwner<OwnerResources['node']> {
    return this.storagerouter;
  }

  singleton(lease: string): GatedOwner<AnyOwnerResource> | undefined {
    return this.singletons.local(lease);
  }

  storagedriver(storagedriverGuid: string): GatedOwner<AnyOwnerResource> | undefined {
    return this.d.storagedrivers.storagedriverOwner(storagedriverGuid);
  }

  vdisk(vdiskGuid: string): ReturnType<StorageDriverManager['vdiskOwner']> {
    return this.d.storagedrivers.vdiskOwner(vdiskGuid);
  }

  /** Competes for the lease; the singleton's actor runs here while this agent holds it. */
  ensureSingleton<R extends AnyOwnerResource>(spec: SingletonOwnerSpec, resources: R): void {
    const held = Promise.resolve(resources);
    this.singletons.ensure({
      lease: spec.lease,
      spawn: () => {
        spec.onStart?.();
        return new GatedOwner(this.d.supervision, this.d.parent, spec.name, () => held);
      },
      onStop: () => spec.onStop?.(),
    });
  }

  releaseSingleton(lease: string): Promise<void> {
    return this.singletons.release(lease);
  }

  async stop(): Promise<void> {
    await this.singletons.stopAll().catch(() => undefined);
    this.storagerouter.stop();
  }
}

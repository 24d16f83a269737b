import type { StorageDriverHost } from '../storagedriver/host.js';

/** The actor of one vDisk holds its volume handle: the volume id on the volume driver of its StorageDriver. */
export interface VdiskOwner {
  readonly vdiskGuid: string;
  readonly volumeId: string;
  readonly storagedriver: StorageDriverHost;
}

/** What each kind of owner hands to the handlers it runs (`ctx.owner`). */
export interface OwnerResources {
  node: { readonly storagerouterGuid: string };
  cluster: { readonly lease: 'cluster' };
  vpool: { readonly vpoolGuid: string };
  vdisk: VdiskOwner;
  /** The StorageDriver actor holds its volume driver and NBD listener. */
  storagedriver: StorageDriverHost;
  any: undefined;
}

/** Whatever an owner of any kind hands over. */
export type AnyOwnerResource = OwnerResources[keyof OwnerResources];

import type { IoFence } from '../dataplane/common/io-fence.js';
import type { ConfigStore } from '../config/store.js';
import type nact from 'nact';
import type { NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { GatedOwner } from '../actors/gated-owner.js';
import { SerialOwner } from '../actors/serial-owner.js';
import { asOvsError, NotAvailableError } from '../errors.js';
import type { ForwardTarget } from '../dataplane/nbd/upstream.js';
import type { ModelObject } from '../model/schema.js';
import type { ModelView } from '../model/view.js';
import type { Supervision } from '../supervisors/supervision.js';
import type { VdiskOwner } from '../tasks/owner-resources.js';
import { StorageDriverHost } from './host.js';
import type { HostedMds } from './mds-hosting.js';
import { mdsAddress, mdsServicesOn } from './mds-model.js';

const DEFAULT_MDS_TLOGS = 100;

export interface StorageDriverManagerDeps {
  me: string;
  view: ModelView;
  nc: NatsConnection;
  dataDir: string;
  log: Logger;
  supervision: Supervision;
  /** The actor the StorageDriver actors hang under (the node). */
  parent: nact.Ref<unknown>;
  /** Replicas of the vPool registry buckets this agent creates. */
  kvReplicas: number;
  config?: ConfigStore;
  /** This node's I/O lease: its volumes serve only while it is open (default: always open). */
  ioFence?: IoFence;
}

interface ServedStorageDriver {
  host: StorageDriverHost;
  owner: GatedOwner<StorageDriverHost>;
  ready: Promise<StorageDriverHost>;
  started: boolean;
}

/** The StorageDrivers this agent serves, for tasks that read several of them (lists, reconciliation). */
export interface ServedStorageDrivers {
  /** The host of a StorageDriver served here, once it started; undefined when it is served elsewhere. */
  served(storagedriverGuid: string): Promise<StorageDriverHost | undefined>;
}

/**
 * Runs one StorageDriver actor per StorageDriver of this StorageRouter in the model, each holding its volume driver
 * and NBD listener, and one vDisk actor per vDisk it owns, holding that vDisk's volume handle. Follows the model:
 * actors come and go with their objects, so finding an owner never creates one.
 */
export class StorageDriverManager implements ServedStorageDrivers {
  private readonly drivers = new Map<string, ServedStorageDriver>();
  private readonly vdisks = new Map<string, { sd: string; owner: SerialOwner<VdiskOwner> }>();
  private readonly onChange = ({ type, obj, guid }: { type: string; guid: string; obj?: ModelObject }): void => {
    if (type === 'storagedriver') {
      if (obj && obj.storagerouter_guid === this.d.me) this.ensureDriver(obj);
      if (!obj) void this.removeDriver(guid);
    }
    // A StorageDriver can reach this view before its vPool does: it starts once the vPool is there.
    if (type === 'vpool' && obj) for (const sd of this.d.view.list('storagedriver', { vpool_guid: guid, storagerouter_guid: this.d.me })) this.ensureDriver(sd);
    if (type === 'vdisk') {
      if (obj) this.ensureVdisk(obj);
      else this.removeVdisk(guid);
    }
    if (type === 'mdsservice' || type === 'service' || type === 'storagedriver') this.resyncMds();
  };

  /** The MDS services of a StorageDriver's vPool that the model places on this node. */
  private mdsWanted(sd: ModelObject): { services: HostedMds[]; maxTlogsBehind: number } {
    const services = mdsServicesOn(this.d.view, String(sd.vpool_guid), this.d.me).flatMap((m) => {
      const address = mdsAddress(this.d.view, m);
      return address ? [{ guid: m.guid, address }] : [];
    });
    // ensure_safety stores the vPool's mds_tlogs with every configuration it applies; this covers the first one.
    return { services, maxTlogsBehind: DEFAULT_MDS_TLOGS };
  }

  /** The edge address of a vPool's StorageDriver, by its storagedriver_id (where a forwarded NBD client goes). */
  private edgeOf(vpoolGuid: string, nodeId: string): ForwardTarget | undefined {
    const sd = this.d.view.list('storagedriver', { vpool_guid: vpoolGuid }).find((x) => String(x.storagedriver_id) === nodeId);
    const edge = (sd?.ports as { edge?: number } | undefined)?.edge;
    return sd && typeof edge === 'number' ? { host: String(sd.storage_ip), port: edge, node: nodeId } : undefined;
  }

  private resyncMds(): void {
    for (const [guid, served] of this.drivers) {
      if (!served.started) continue;
      const sd = this.d.view.find('storagedriver', guid);
      if (!sd) continue;
      const w = this.mdsWanted(sd);
      void served.host.hostMds(w.services, w.maxTlogsBehind).catch((e: unknown) => this.d.log.error({ err: e, storagedriver: sd.storagedriver_id }, 'MDS services could not start'));
    }
  }

  constructor(private readonly d: StorageDriverManagerDeps) {}

  start(): void {
    for (const sd of this.d.view.list('storagedriver', { storagerouter_guid: this.d.me })) this.ensureDriver(sd);
    this.d.view.on('change', this.onChange);
  }

  storagedriverOwner(sdGuid: string): GatedOwner<StorageDriverHost> | undefined {
    return this.drivers.get(sdGuid)?.owner;
  }

  vdiskOwner(vdiskGuid: string): SerialOwner<VdiskOwner> | undefined {
    return this.vdisks.get(vdiskGuid)?.owner;
  }

  async served(sdGuid: string): Promise<StorageDriverHost | undefined> {
    return this.drivers.get(sdGuid)?.ready;
  }

  /** The host, only when it already finished starting (for synchronous readers such as computed fields). */
  runningHost(sdGuid: string): StorageDriverHost | undefined {
    const served = this.drivers.get(sdGuid);
    return served?.started ? served.host : undefined;
  }

  /** Every running volume checked against its vPool's stored registry; the ones another node took over are halted. */
  async revalidateOwnership(): Promise<void> {
    const started = [...this.drivers.values()].filter((d) => d.started).map((d) => d.host);
    await Promise.all(started.map((host) => host.driver.revalidateOwnership()));
  }

  private ensureDriver(sd: ModelObject): void {
    if (this.drivers.has(sd.guid)) return;
    const vpool = this.d.view.find('vpool', String(sd.vpool_guid));
    if (!vpool) return;
    const host = new StorageDriverHost(sd, vpool, this.d.dataDir, this.d.nc, this.d.log, this.d.kvReplicas, this.d.config, () => this.mdsWanted(sd), (nodeId) => this.edgeOf(String(sd.vpool_guid), nodeId), this.d.ioFence);
    const ready = host.start().then(
      () => host,
      (e: unknown) => {
        this.d.log.error({ err: e, storagedriver: sd.storagedriver_id }, 'storage driver did not start');
        const cause = asOvsError(e);
        throw new NotAvailableError(`StorageDriver ${String(sd.storagedriver_id)} did not start: ${cause.message}`, {
          storagedriver_guid: sd.guid, start_failed: true, cause: { type: cause.type, details: cause.details },
        });
      },
    );
    const owner = new GatedOwner(this.d.supervision, this.d.parent, `storagedriver:${String(vpool.name)}@${this.d.me}`, () => ready);
    // Each MDS service is an actor under its StorageDriver: a poll that throws crashes it and supervision restarts it.
    host.mds.withActors((address) => {
      const ref = this.d.supervision.spawn<null, 'poll'>(owner.ref, `mds.${address.replace(/[.:]/g, '_')}`, {
        initialState: () => null,
        handle: async (state) => {
          await host.mds.serverAt(address)?.pollSlaves();
          return state;
        },
      });
      return { poll: () => void this.d.supervision.tell(ref, 'poll'), stop: () => this.d.supervision.stop(ref) };
    });
    const served: ServedStorageDriver = { host, owner, ready, started: false };
    ready.then(() => (served.started = true), () => undefined);
    this.drivers.set(sd.guid, served);
    for (const vdisk of this.d.view.list('vdisk', { storagedriver_guid: sd.guid })) this.ensureVdisk(vdisk);
  }

  private ensureVdisk(vdisk: ModelObject): void {
    const sdGuid = String(vdisk.storagedriver_guid);
    const known = this.vdisks.get(vdisk.guid);
    if (known?.sd === sdGuid) return;
    if (known) this.removeVdisk(vdisk.guid);
    const served = this.drivers.get(sdGuid);
    if (!served) return;
    const handle: Promise<VdiskOwner> = served.ready.then((storagedriver) => ({ vdiskGuid: vdisk.guid, volumeId: String(vdisk.volume_id), storagedriver }));
    handle.catch(() => undefined);
    const owner = new SerialOwner(this.d.supervision, served.owner.ref, `vdisk:${vdisk.guid}`, () => handle);
    this.vdisks.set(vdisk.guid, { sd: sdGuid, owner });
  }

  private removeVdisk(vdiskGuid: string): void {
    const known = this.vdisks.get(vdiskGuid);
    if (!known) return;
    this.vdisks.delete(vdiskGuid);
    // After its last task answered: the delete task itself runs in this actor.
    setImmediate(() => known.owner.stop());
  }

  private async removeDriver(sdGuid: string): Promise<void> {
    const served = this.drivers.get(sdGuid);
    if (!served) return;
    this.drivers.delete(sdGuid);
    for (const [vdiskGuid, v] of this.vdisks) if (v.sd === sdGuid) this.vdisks.delete(vdiskGuid);
    await served.host.stop().catch(() => undefined);
    served.owner.stop();
  }

  async stop(): Promise<void> {
    this.d.view.off('change', this.onChange);
    for (const guid of [...this.drivers.keys()]) await this.removeDriver(guid);
  }
}

import type nact from 'nact';
import type { NatsConnection } from 'nats';
import type { Logger } from 'pino';
import type { ModelObject } from '../model/schema.js';
import type { ModelView } from '../model/view.js';
import { StorageDriverHost } from './host.js';

/**
 * Runs a StorageDriverHost (volume driver + NBD listener) for every StorageDriver of this StorageRouter in the
 * model, each under its own owner actor `storagedriver:<vpool>@<sr>`; follows the model as StorageDrivers come
 * and go.
 */
export class StorageDriverManager {
  private readonly vdiskActors = new Map<string, { sd: string; ref: nact.Ref<unknown> }>();
  private readonly hosts = new Map<string, { host: StorageDriverHost; actor: nact.Ref<unknown>; ready: Promise<void>; started?: boolean }>();

  constructor(
    private readonly me: string,
    private readonly view: ModelView,
    private readonly nc: NatsConnection,
    private readonly dataDir: string,
    private readonly log: Logger,
    private readonly spawnActor: (name: string) => nact.Ref<unknown>,
    private readonly stopActor: (ref: nact.Ref<unknown>) => void,
    private readonly spawnChild: (parent: nact.Ref<unknown>, name: string) => nact.Ref<unknown>,
  ) {}

  /** The actor of one vDisk (spawned on first use under its StorageDriver's actor); it serialises that vDisk's tasks. */
  vdiskActor(sdGuid: string, vdiskGuid: string): nact.Ref<unknown> | undefined {
    const known = this.vdiskActors.get(vdiskGuid);
    if (known && known.sd === sdGuid) return known.ref;
    const parent = this.hosts.get(sdGuid)?.actor;
    if (!parent) return undefined;
    if (known) this.stopActor(known.ref);
    const ref = this.spawnChild(parent, `vdisk:${vdiskGuid}`);
    this.vdiskActors.set(vdiskGuid, { sd: sdGuid, ref });
    return ref;
  }

  start(): void {
    for (const sd of this.view.list('storagedriver', { storagerouter_guid: this.me })) this.ensure(sd);
    this.view.on('change', ({ type, obj, guid }: { type: string; guid: string; obj?: ModelObject }) => {
      if (type === 'vdisk' && !obj) {
        const a = this.vdiskActors.get(guid);
        this.vdiskActors.delete(guid);
        // After its last task answered: the delete task itself runs in this actor.
        if (a) setImmediate(() => this.stopActor(a.ref));
      }
      if (type !== 'storagedriver') return;
      if (obj && obj.storagerouter_guid === this.me) this.ensure(obj);
      if (!obj) void this.remove(guid);
    });
  }

  /** The running host of a StorageDriver on this node (after it started). */
  async host(sdGuid: string): Promise<StorageDriverHost | undefined> {
    const h = this.hosts.get(sdGuid);
    if (!h) return undefined;
    await h.ready;
    return h.host;
  }

  /** The host, only when it already finished starting (for synchronous readers such as computed fields). */
  runningHost(sdGuid: string): StorageDriverHost | undefined {
    const h = this.hosts.get(sdGuid);
    return h?.started ? h.host : undefined;
  }

  actor(sdGuid: string): nact.Ref<unknown> | undefined {
    return this.hosts.get(sdGuid)?.actor;
  }

  private ensure(sd: ModelObject): void {
    if (this.hosts.has(sd.guid)) return;
    const vpool = this.view.find('vpool', String(sd.vpool_guid));
    if (!vpool) return;
    const host = new StorageDriverHost(sd, vpool, this.dataDir, this.nc, this.log, () => undefined);
    const actor = this.spawnActor(`storagedriver:${String(vpool.name)}@${this.me}`);
    const ready = host.start().catch((e: unknown) => {
      this.log.error({ err: e, storagedriver: sd.storagedriver_id }, 'storage driver did not start');
      throw e;
    });
    const slot: { host: StorageDriverHost; actor: nact.Ref<unknown>; ready: Promise<void>; started?: boolean } = { host, actor, ready };
    ready.then(() => (slot.started = true), () => undefined);
    this.hosts.set(sd.guid, slot);
  }

  private async remove(sdGuid: string): Promise<void> {
    const h = this.hosts.get(sdGuid);
    if (!h) return;
    this.hosts.delete(sdGuid);
    for (const [vd, a] of this.vdiskActors) if (a.sd === sdGuid) this.vdiskActors.delete(vd);
    await h.host.stop().catch(() => undefined);
    this.stopActor(h.actor);
  }

  async stop(): Promise<void> {
    for (const guid of [...this.hosts.keys()]) await this.remove(guid);
  }
}

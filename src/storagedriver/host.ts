import { OPEN_FENCE, type IoFence } from '../dataplane/common/io-fence.js';
import { join } from 'node:path';
import type { NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { DEFAULT_GEOMETRY, type Geometry } from '../dataplane/common/geometry.js';
import { VolumeDriver } from '../dataplane/driver/volume-driver.js';
import type { NbdResolution } from '../dataplane/nbd/export.js';
import { NbdServer } from '../dataplane/nbd/server.js';
import type { ForwardTarget } from '../dataplane/nbd/upstream.js';
import type { ModelObject } from '../model/schema.js';
import { publishVoldrvEvent } from '../events/voldrv-events.js';
import { KvRegistry } from '../dataplane/registry/kv-registry.js';
import { backendOf } from './backend-of.js';
import { DtlServer } from '../dataplane/dtl/server.js';
import type { ConfigStore } from '../config/store.js';
import { dtlSettingsFrom } from './dtl-settings.js';
import { nbdTlsOf } from './nbd-tls-settings.js';
import { MdsHosting, type HostedMds } from './mds-hosting.js';
import { mdsClient } from '../mds/client.js';
import type { MdsBackendConfig } from '../dataplane/volume/mds-link.js';

/** Seconds between SLAVE catch-ups from the backend (§A14 mds_poll_secs). */
export const MDS_POLL_KEY = '/ovs/framework/mds/poll_s';
/** Seconds between the last apply of a scrub result and the deletion of what it replaced (reads in flight). */
export const SCRUB_GRACE_KEY = '/ovs/framework/scrub/grace_s';
/** Seconds an MDS request may take before the service counts as not answering (§A14 timeout_secs). */
export const MDS_TIMEOUT_KEY = '/ovs/framework/mds/timeout_s';
/**
 * How long a client of an export registered here but not running yet (a move is starting it here, or the registry
 * change has not reached this node) is kept waiting before it is refused.
 */
const STARTING_EXPORT_WAIT_MS = 10_000;
const STARTING_EXPORT_POLL_MS = 100;

export interface VpoolConfiguration {
  sco_size: number;
  cluster_size: number;
  tlog_multiplier: number;
  write_buffer: number;
  dtl_mode: string;
  dtl_transport: string;
}

/** Geometry of a vPool from its stored configuration (sizes in MiB / KiB as the original's `configuration`). */
export function geometryOf(vpool: ModelObject): { geometry: Geometry; allowTinyScos: boolean } {
  const cfg = ((vpool.metadata as Record<string, unknown> | undefined)?.configuration ?? {}) as Partial<VpoolConfiguration> & { sco_size_bytes?: number };
  const clusterSize = (cfg.cluster_size ?? 4) * 1024;
  const scoBytes = cfg.sco_size_bytes ?? (cfg.sco_size ?? 4) * 1024 * 1024;
  return {
    geometry: { ...DEFAULT_GEOMETRY, clusterSize, scoMultiplier: Math.max(1, Math.floor(scoBytes / clusterSize)), tlogMultiplier: cfg.tlog_multiplier ?? 16 },
    allowTinyScos: scoBytes < 1024 * 1024,
  };
}

/**
 * The volume driver of one vPool on this host and its NBD listener on the StorageDriver's edge port. Data-plane
 * events are stored as facts on `ovs.evt.voldrv.<type>` (a JetStream stream); the events consumer updates the model.
 */
export class StorageDriverHost {
  readonly driver: VolumeDriver;
  private readonly registry: KvRegistry;
  readonly mds: MdsHosting;
  private mdsDefaults: MdsBackendConfig | undefined;
  private mdsTimeoutMs = 20_000;
  private mdsPollMs: number | undefined;
  private nbd: NbdServer | undefined;
  private dtl: DtlServer | undefined;

  constructor(
    readonly sd: ModelObject,
    vpool: ModelObject,
    private readonly dataRoot: string,
    private readonly nc: NatsConnection,
    private readonly log: Logger,
    kvReplicas = 1,
    /** The cluster's configuration (DTL timeouts and checker interval); tests may leave it out. */
    private readonly config?: ConfigStore,
    /** The MDS services the model places on this node for the vPool. */
    private readonly mdsWanted?: () => { services: HostedMds[]; maxTlogsBehind: number },
    /** The edge of another StorageDriver of the vPool (by storagedriver_id), for clients of volumes it owns. */
    private readonly edgeOf?: (nodeId: string) => ForwardTarget | undefined,
    /** This node's I/O lease (see SelfFence); volumes and exports wait while it is closed. */
    private readonly ioFence: IoFence = OPEN_FENCE,
  ) {
    const { geometry, allowTinyScos } = geometryOf(vpool);
    // One registry per vPool on the cluster's KV: every StorageDriver of the vPool sees every volume and its owner.
    this.registry = new KvRegistry(nc.jetstream(), { vpool: vpool.guid, nodeId: String(sd.storagedriver_id), replicas: kvReplicas, log });
    const backend = backendOf(vpool, nc.jetstream(), { replicas: kvReplicas });
    this.mds = new MdsHosting({ dir: join(dataRoot, 'vpools', vpool.guid), backend, nc, log: log.child({ storagedriver: sd.storagedriver_id }), pollMs: () => this.mdsPollMs });
    this.driver = new VolumeDriver({
      registry: this.registry,
      vpool: vpool.guid,
      nodeId: String(sd.storagedriver_id),
      dataRoot: join(dataRoot, 'vpools'),
      backend,
      geometry,
      mds: { client: (address, timeoutMs) => mdsClient(address, nc, timeoutMs ?? this.mdsTimeoutMs), defaults: () => this.mdsDefaults },
      allowTinyScos,
      log: log.child({ storagedriver: sd.storagedriver_id }),
      ioFence,
    });
    this.driver.on('event', (e: Record<string, unknown>) => {
      // "Up and running" means clients can attach: it waits until the NBD listener is bound.
      if (e.type === 'up_and_running' && !this.listening) this.heldBack = e;
      else this.publish(e);
      // Clients of a volume that moved away reconnect, and are then forwarded to its new owner.
      if (e.type === 'owner_changed' && e.new_owner_id !== String(this.sd.storagedriver_id)) this.nbd?.dropVolume(String(e.volume_id));
    });
  }

  private listening = false;
  private heldBack: Record<string, unknown> | undefined;
  private starting: Promise<void> | undefined;
  private stopped = false;

  private publish(e: Record<string, unknown>): void {
    if (!this.nc.isClosed()) publishVoldrvEvent(this.nc.jetstream(), e, this.log);
  }

  start(): Promise<void> {
    this.starting ??= this.startOnce();
    return this.starting;
  }

  private async startOnce(): Promise<void> {
    const ports = this.sd.ports as { edge: number; dtl: number };
    // First: a vPool whose TLS setting is broken must not start serving its volumes in plain.
    const nbdTls = this.config ? await nbdTlsOf(this.config, this.driver.o.vpool) : undefined;
    if (this.config) {
      this.driver.configureDtl(await dtlSettingsFrom(this.config));
      const poll = Number(await this.config.get<number>(MDS_POLL_KEY).catch(() => undefined));
      if (poll > 0) this.mdsPollMs = poll * 1000;
      const timeout = Number(await this.config.get<number>(MDS_TIMEOUT_KEY).catch(() => undefined));
      if (timeout > 0) this.mdsTimeoutMs = timeout * 1000;
      const grace = await this.config.get<number>(SCRUB_GRACE_KEY).catch(() => undefined);
      if (typeof grace === 'number' && grace >= 0 && Number.isFinite(grace)) this.driver.configureScrub({ graceMs: grace * 1000 });
    }
    // The DTL server of this StorageDriver (other nodes' volumes keep their write log here), on its storage IP.
    this.dtl = new DtlServer(join(this.dataRoot, 'vpools', this.driver.o.vpool, 'dtl'));
    await this.dtl.listen(ports.dtl, String(this.sd.storage_ip));
    // Before the volumes: a volume restarting here pushes to its master, often a service of this node.
    if (this.mdsWanted) {
      const w = this.mdsWanted();
      await this.hostMds(w.services, w.maxTlogsBehind);
    }
    await this.driver.start();
    if (this.stopped) return;
    this.nbd = new NbdServer(this.driver, {
      log: this.log.child({ component: 'nbd', storagedriver: this.sd.storagedriver_id }),
      forwarding: { resolve: (name, opts) => this.resolveExport(name, opts) },
      disconnectWhenHalted: true,
      tls: nbdTls,
    });
    await this.nbd.listen(ports.edge, String(this.sd.storage_ip));
    this.listening = true;
    if (this.heldBack) this.publish(this.heldBack);
  }

  /**
   * The MDS services this node hosts for the vPool (from the model), and the list a volume created here starts
   * with: this node's first service (ensure_safety then adds slaves elsewhere).
   */
  async hostMds(services: HostedMds[], maxTlogsBehind: number): Promise<void> {
    if (this.stopped) return;
    await this.mds.sync(services);
    const first = services[0];
    this.mdsDefaults = first ? { nodes: [first.address], maxTlogsBehind } : undefined;
  }

  /** Stops serving; a stop while starting waits for the start, so no listener is left behind. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.starting?.catch(() => undefined);
    await this.nbd?.close();
    await this.dtl?.close();
    await this.driver.stop();
    await this.mds.stop();
    await this.registry.close();
  }

  /**
   * An export this node does not serve now: the owner's edge (never this node's), or the volume once it runs here
   * when the registry says it belongs here (a move is starting it here).
   */
  private async resolveExport(name: string, opts: { forward: boolean }): Promise<NbdResolution> {
    const me = String(this.sd.storagedriver_id);
    const ports = this.sd.ports as { edge: number };
    const deadline = Date.now() + STARTING_EXPORT_WAIT_MS;
    // While the I/O lease is closed this node may hold volumes another node took over: decide once it knows.
    if (!this.ioFence.isOpen()) await this.ioFence.untilOpen(STARTING_EXPORT_WAIT_MS);
    for (;;) {
      const local = this.driver.lookup(name);
      const owner = this.driver.exportOwner(name);
      // A volume halted here while the registry names another owner (fenced after a stall, moved away) is served there.
      if (local && !(local.halted && owner !== undefined && owner !== me)) return { volume: local };
      if (owner === undefined) return undefined;
      if (owner !== me) {
        // A forwarded connection is refused: the forwarding node asks its registry again (loop guard).
        if (!opts.forward) return undefined;
        const target = this.edgeOf?.(owner);
        const self = target?.host === String(this.sd.storage_ip) && target.port === ports.edge;
        return target && !self ? { target } : undefined;
      }
      if (this.stopped || Date.now() >= deadline) return undefined;
      await new Promise((r) => setTimeout(r, STARTING_EXPORT_POLL_MS));
    }
  }

  edgeClients(): Array<{ object_id: string; ip: string; port: number }> {
    return (this.nbd?.connections() ?? []).map((c) => ({ object_id: c.export, ip: c.ip, port: c.port }));
  }
}

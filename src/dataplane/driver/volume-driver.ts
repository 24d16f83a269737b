import { OPEN_FENCE, type IoFence } from '../common/io-fence.js';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Backend } from '../backend/backend.js';
import { checkGeometry, type Geometry } from '../common/geometry.js';
import { InvalidOperationError, InvalidSizeError, NotOwnerError, ObjectStillHasChildrenError, SnapshotNotFoundError, VolumeExistsError, VolumeNotFoundError } from '../errors.js';
import type { NbdExports, NbdVolume } from '../nbd/export.js';
import { defaultReadCacheBytes } from '../cache/cluster-cache.js';
import { checkCloneSource, createVolume, hasCurrentLocalState, removeLocal, restartFromBackend, restartLocal, type MetadataSource, type OpenContext } from '../volume/open.js';
import {
  MAX_VOLUME_BYTES, createSnapshot, deleteSnapshot, isSyncedUpToSnapshot, isSyncedUpToTLog, listSnapshots, resize, restoreSnapshot,
  scheduleBackendSync, setAsTemplate, setScoMultiplier, setTLogMultiplier, snapshotInfo, type SnapshotInfo,
} from '../volume/volume-admin.js';
import type { Volume } from '../volume/volume.js';
import { sumIoStatistics, type IoStatistics } from '../volume/io-statistics.js';
import { FileRegistry, type NodeState, type Registration, type Registry } from './registry.js';
import { TARGET_PATH_OBJECT, reconcileRegistry } from './reconcile.js';
import { parseStoredDtlConfig, type DtlConfig, type DtlConfigMode, type DtlReplay, type DtlState } from '../dtl/config.js';
import { FAILOVERCACHE_CONFIG_OBJECT } from '../volume/config.js';
import { DEFAULT_DTL_TIMEOUTS, type DtlTimeouts } from '../volume/dtl-link.js';
import { fromBackend, fromLocal, replayDtl } from '../volume/dtl-replay.js';
import { ScrubManager, type ScrubSettings } from '../scrub/manager.js';
import { scrubStoreFor } from '../scrub/store-for.js';
import type { ScrubReply, ScrubWork } from '../scrub/types.js';
import { scrubWorkUnits } from '../scrub/work-units.js';
import { MdsLink, type MdsBackendConfig } from '../volume/mds-link.js';
import type { MdsClient } from '../../mds/client.js';
import { splitAddress } from '../../mds/wire.js';

/** How long an NBD request waits for a closed I/O lease before its connection is dropped (clients reconnect). */
const FENCE_WAIT_MS = 20_000;

export interface VolumeDriverOptions {
  /** vPool guid = vrouter cluster id. */
  vpool: string;
  /** This node's StorageDriver id. */
  nodeId: string;
  /** `<dataRoot>` of this node; the driver uses `<dataRoot>/<vpool>/`. */
  dataRoot: string;
  backend: Backend;
  geometry: Geometry;
  /** Tests use SCOs below the 1 MiB production minimum. */
  allowTinyScos?: boolean;
  /** Large SCO I/O bypasses the page cache where the filesystem allows it (default on). */
  directIo?: boolean;
  /** Bytes of the process's read cache shared by its volumes (default: 1/16 of memory, at most 2 GiB; 0: none). */
  readCacheBytes?: number;
  /** Where registrations live (a KvRegistry in a cluster); default: a FileRegistry in `<dataRoot>/<vpool>/registry.json`. */
  registry?: Registry;
  log: Logger;
  /** DTL client timeouts (spec A18: connect 1 s, request 60 s; tests use shorter ones). */
  dtlTimeouts?: DtlTimeouts;
  /** How often DEGRADED volumes try their DTL again (spec A18: 300 s). */
  dtlCheckIntervalMs?: number;
  /** Scrub grace delay, job polling, lease timing (tests use short ones). */
  scrub?: Partial<ScrubSettings>;
  /** MDS services: how to reach one by `ip:port`, and the configuration a volume without one starts with. */
  mds?: { client: (address: string, timeoutMs?: number) => MdsClient; defaults: () => MdsBackendConfig | undefined };
  /** The node's I/O lease: NBD requests wait while it is closed (default: always open). */
  ioFence?: IoFence;
}

/** VolumeInfo (B2), with the Python field names the control plane reads. */
export interface VolumeInfo {
  volume_id: string;
  namespace: string;
  parent_namespace: string | null;
  parent_snapshot_id: string | null;
  parent_volume_id: string | null;
  volume_size: number;
  lba_size: number;
  lba_count: number;
  cluster_multiplier: number;
  sco_multiplier: number;
  tlog_multiplier: number;
  failover_mode: DtlState;
  halted: boolean;
  footprint: number;
  stored: number;
  object_type: 'BASE' | 'TEMPLATE';
  vrouter_id: string;
  owner_tag: number;
  /** Its MDS services, master first (empty without a metadata backend). */
  metadata_backend_config: Array<{ address: string; port: number }>;
}

/**
 * One volume driver per vPool per node (C1), with the client API of Part B (method and keyword names of the
 * original) and the events of C11 (`volume_create`, `volume_resize`, `volume_delete`, `up_and_running`, ...).
 */
export class VolumeDriver extends EventEmitter implements NbdExports {
  readonly registry: Registry;
  private readonly volumes = new Map<string, Volume>();
  private readonly root: string;
  /** What the last restart (local or from the backend) of each volume did with its DTL. */
  private readonly replays = new Map<string, DtlReplay>();
  private dtlChecker: NodeJS.Timeout | undefined;
  private dtlSettings: { timeouts: DtlTimeouts; checkIntervalMs: number };

  constructor(readonly o: VolumeDriverOptions) {
    super();
    const problem = checkGeometry(o.geometry, o.allowTinyScos);
    if (problem) throw new InvalidOperationError(problem);
    this.root = join(o.dataRoot, o.vpool);
    this.registry = o.registry ?? new FileRegistry(join(this.root, 'registry.json'));
    this.dtlSettings = { timeouts: o.dtlTimeouts ?? DEFAULT_DTL_TIMEOUTS, checkIntervalMs: o.dtlCheckIntervalMs ?? 300_000 };
  }

  private ctx(): OpenContext {
    return {
      root: this.root,
      backend: this.o.backend,
      nodeId: this.o.nodeId,
      log: this.o.log,
      emit: (type, fields) => this.publish(type, fields),
      directIo: this.o.directIo,
      readCacheBytes: this.o.readCacheBytes ?? defaultReadCacheBytes(),
      dtlTimeouts: this.dtlTimeouts,
      ...(this.o.mds ? { mdsClient: this.o.mds.client } : {}),
      onMetadataSource: (ns, source) => this.metadataSources.set(ns, source),
    };
  }

  /** Where the last backend restart of each volume (by namespace) got its table. */
  private readonly metadataSources = new Map<string, MetadataSource>();

  /** Where the volume's table came from at its last backend restart here (null: none since this driver started). */
  metadata_source(a: { volume_id: string }): MetadataSource | null {
    return this.metadataSources.get(this.volume(a.volume_id).cfg.ns) ?? null;
  }

  /** DTL settings from the cluster's configuration, applied before start (volumes opened later use them). */
  configureDtl(o: { timeouts?: Partial<DtlTimeouts>; checkIntervalMs?: number }): void {
    this.dtlSettings = { timeouts: { ...this.dtlTimeouts, ...o.timeouts }, checkIntervalMs: o.checkIntervalMs ?? this.dtlSettings.checkIntervalMs };
  }

  private get dtlTimeouts(): DtlTimeouts {
    return this.dtlSettings.timeouts;
  }

  private publish(type: string, fields: Record<string, unknown>): void {
    this.emit('event', { type, cluster_id: this.o.vpool, node_id: this.o.nodeId, ...fields });
  }

  /** Starts the driver: every volume registered to this node is restarted (locally when local state exists). */
  async start(): Promise<void> {
    await this.registry.load();
    await reconcileRegistry(this.registry, this.o.backend, this.o.nodeId, this.o.log);
    // A node that starts is back: it serves what the registry gives it and nothing else.
    await this.registry.setNodeState(this.o.nodeId, 'ONLINE');
    await this.dropForeignLocalState();
    for (const r of this.registry.list().filter((x) => x.node_id === this.o.nodeId)) {
      try {
        await this.restart_object({ object_id: r.object_id });
      } catch (e) {
        this.o.log.error({ err: e, volume_id: r.object_id }, 'volume did not restart');
      }
    }
    this.publish('up_and_running', { mountpoint: this.o.vpool });
    this.dtlChecker = setInterval(() => void this.checkDtls(), this.dtlSettings.checkIntervalMs);
    this.dtlChecker.unref();
    this.scrubs.start();
  }

  /** The DTL checker (C6): DEGRADED volumes try their DTL again. */
  async checkDtls(): Promise<void> {
    for (const v of this.volumes.values()) if (!v.halted) await v.dtl.retry();
  }

  async stop(): Promise<void> {
    clearInterval(this.dtlChecker);
    this.scrubManager?.stop();
    for (const v of this.volumes.values()) await v.stop();
    this.volumes.clear();
  }

  private volume(id: string): Volume {
    const v = this.volumes.get(id);
    if (v) return v;
    if (this.registry.find(id)) throw new VolumeNotFoundError(`volume ${id} is not running on node ${this.o.nodeId}`, { volume_id: id, running: false });
    throw new VolumeNotFoundError(`volume ${id} does not exist`, { volume_id: id });
  }

  // ---- lifecycle (B1) -----------------------------------------------------------------------------

  async create_volume(a: { target_path: string; volume_size: number | string; node_id?: string; volume_id?: string }): Promise<string> {
    const size = parseSize(a.volume_size);
    if (size % this.o.geometry.clusterSize !== 0 || size <= 0 || size > MAX_VOLUME_BYTES) {
      throw new InvalidSizeError(`volume size ${size} must be a positive multiple of ${this.o.geometry.clusterSize} up to ${MAX_VOLUME_BYTES}`);
    }
    const id = a.volume_id ?? randomUUID();
    this.checkNew(id, a.target_path);
    const owner_tag = await this.registry.nextOwnerTag();
    await this.registry.add(this.registration(id, a.target_path, owner_tag, null, null));
    try {
      const v = await createVolume(this.ctx(), { volumeId: id, sizeBytes: size, geometry: this.o.geometry, ownerTag: owner_tag });
      await this.o.backend.put(v.cfg.ns, TARGET_PATH_OBJECT, Buffer.from(a.target_path), { fence: v.fence, overwrite: true });
      this.volumes.set(id, v);
      await this.attachMds(v);
    } catch (e) {
      await this.registry.remove(id);
      throw e;
    }
    this.publish('volume_create', { name: a.target_path, size, path: a.target_path, volume_id: id });
    return id;
  }

  async create_clone(a: { target_path: string; parent_volume_id: string; parent_snapshot_id: string; node_id?: string; volume_id?: string }): Promise<string> {
    const parent = this.registry.find(a.parent_volume_id);
    if (!parent) throw new VolumeNotFoundError(`volume ${a.parent_volume_id} does not exist`, { volume_id: a.parent_volume_id });
    await checkCloneSource(this.o.backend, parent.namespace, a.parent_snapshot_id);
    const id = a.volume_id ?? randomUUID();
    this.checkNew(id, a.target_path);
    const parentVolume = this.volumes.get(parent.object_id);
    const size = parentVolume?.size ?? 0;
    const owner_tag = await this.registry.nextOwnerTag();
    await this.registry.add(this.registration(id, a.target_path, owner_tag, parent.object_id, a.parent_snapshot_id));
    try {
      // Again now that the clone is registered: a deletion of the snapshot that started meanwhile shows its mark.
      await checkCloneSource(this.o.backend, parent.namespace, a.parent_snapshot_id);
      const v = await createVolume(this.ctx(), {
        volumeId: id, sizeBytes: size || (await this.sizeFromBackend(parent.namespace)), geometry: this.o.geometry, ownerTag: owner_tag,
        parent: { ns: parent.namespace, snapshot: a.parent_snapshot_id },
      });
      await this.o.backend.put(v.cfg.ns, TARGET_PATH_OBJECT, Buffer.from(a.target_path), { fence: v.fence, overwrite: true });
      this.volumes.set(id, v);
      await this.attachMds(v);
      this.publish('volume_create', { name: a.target_path, size: v.size, path: a.target_path, volume_id: id });
    } catch (e) {
      await this.registry.remove(id);
      throw e;
    }
    return id;
  }

  async create_clone_from_template(a: { target_path: string; parent_volume_id: string; node_id?: string; volume_id?: string }): Promise<string> {
    const parent = this.registry.find(a.parent_volume_id);
    if (!parent) throw new VolumeNotFoundError(`volume ${a.parent_volume_id} does not exist`, { volume_id: a.parent_volume_id });
    if (parent.object_type !== 'TEMPLATE') throw new InvalidOperationError(`volume ${a.parent_volume_id} is not a template`);
    const v = this.volume(parent.object_id);
    const snapshot = listSnapshots(v)[0]!;
    return this.create_clone({ ...a, parent_snapshot_id: snapshot });
  }

  async unlink(a: { target_path: string }): Promise<void> {
    const r = this.registry.findByPath(a.target_path) ?? this.registry.find(a.target_path);
    if (!r) throw new VolumeNotFoundError(`no volume at ${a.target_path}`, { target_path: a.target_path });
    if (Object.keys(r.descendants).length > 0) throw new ObjectStillHasChildrenError(`volume ${r.object_id} has clones`, { volume_id: r.object_id });
    const v = this.volumes.get(r.object_id);
    this.volumes.delete(r.object_id);
    await v?.stop({ abandon: true });
    // Namespace first: a registration without a namespace is cleaned at its node's next start; the other way round
    // a node starting meanwhile would register the half-deleted volume again from the backend.
    await this.o.backend.deleteNamespace(r.namespace);
    await this.registry.remove(r.object_id);
    await removeLocal(this.root, r.namespace);
    this.publish('volume_delete', { name: r.target_path, path: r.target_path, volume_id: r.object_id });
  }

  async truncate(a: { object_id: string; new_size: number | string }): Promise<void> {
    const v = this.volume(a.object_id);
    await resize(v, parseSize(a.new_size));
    this.publish('volume_resize', { name: this.registry.find(a.object_id)?.target_path, size: v.size, path: this.registry.find(a.object_id)?.target_path, volume_id: v.id });
  }

  async set_volume_as_template(a: { volume_id: string }): Promise<void> {
    const v = this.volume(a.volume_id);
    const r = this.registry.find(a.volume_id)!;
    if (r.parent_volume) throw new InvalidOperationError(`volume ${a.volume_id} is a clone; clones cannot become templates`);
    await setAsTemplate(v, () => Object.keys(r.descendants).length > 0);
    await this.registry.update(a.volume_id, (x) => (x.object_type = 'TEMPLATE'));
  }

  async rollback_volume(a: { volume_id: string; snapshot_id: string }): Promise<void> {
    const v = this.volume(a.volume_id);
    const r = this.registry.find(a.volume_id)!;
    await restoreSnapshot(v, a.snapshot_id, (later) => Object.values(r.descendants).some((s) => s !== null && later.includes(s)));
  }

  /** Local data of volumes registered elsewhere (moved or failed over while this node was down) is stale: it goes. */
  private async dropForeignLocalState(): Promise<void> {
    const { readdir } = await import('node:fs/promises');
    const local = await readdir(join(this.root, 'md')).catch(() => [] as string[]);
    const mine = new Set(this.registry.list().filter((r) => r.node_id === this.o.nodeId).map((r) => r.namespace));
    for (const ns of local.filter((n) => !mine.has(n))) {
      this.o.log.warn({ namespace: ns }, 'local data of a volume this node no longer owns removed');
      await removeLocal(this.root, ns);
    }
  }

  node_states(): Record<string, NodeState> {
    return this.registry.nodeStates();
  }

  /** `mark_node_offline` / `mark_node_online` (C7): a node cannot declare itself offline. */
  async set_node_state(a: { node_id: string; state: NodeState }): Promise<void> {
    if (a.state === 'OFFLINE' && a.node_id === this.o.nodeId) throw new InvalidOperationError(`node ${a.node_id} cannot mark itself offline`);
    await this.registry.setNodeState(a.node_id, a.state);
  }

  /**
   * Takes over a volume whose owner is OFFLINE (C7 steal): the registration names this node, and the volume restarts
   * here from the backend under a new owner tag, which fences the old owner out of the backend. What the old owner
   * had not uploaded yet is not in the backend (the DTL issue brings it back); the caller says so.
   */
  async steal_volume(a: { volume_id: string; force?: boolean }): Promise<{ previous_owner: string; restarted_from_tlog: string | null; dtl_replay: DtlReplay; metadata: MetadataSource | null }> {
    const r = this.registry.find(a.volume_id);
    if (!r) throw new VolumeNotFoundError(`volume ${a.volume_id} does not exist`, { volume_id: a.volume_id });
    const previous = r.node_id;
    if (previous !== this.o.nodeId) {
      if (this.registry.nodeStates()[previous] !== 'OFFLINE' && !a.force) {
        throw new NotOwnerError(`volume ${a.volume_id} is owned by node ${previous}, which is not OFFLINE`, { volume_id: a.volume_id, node_id: previous });
      }
      await this.registry.update(a.volume_id, (x) => {
        if (x.node_id !== previous && x.node_id !== this.o.nodeId) throw new NotOwnerError(`volume ${a.volume_id} was taken by node ${x.node_id} meanwhile`, { volume_id: a.volume_id, node_id: x.node_id });
        x.node_id = this.o.nodeId;
      });
      this.publish('owner_changed', { name: r.target_path, volume_id: a.volume_id, new_owner_id: this.o.nodeId });
    }
    await this.restart_object({ object_id: a.volume_id });
    const v = this.volume(a.volume_id);
    const written = v.doc.current.filter((t) => t.written);
    return {
      previous_owner: previous, restarted_from_tlog: written[written.length - 1]?.id ?? null, dtl_replay: this.replays.get(a.volume_id) ?? { status: 'none', entries: 0 },
      metadata: this.metadataSources.get(v.cfg.ns) ?? null,
    };
  }

  /**
   * Moves a volume to another node, source side (C7 transfer): the volume hands everything to the backend and stops,
   * its local data goes, and the registration names the target, which then restarts it from the backend.
   */
  async release_volume(a: { volume_id: string; target_node_id: string }): Promise<void> {
    const r = this.registry.find(a.volume_id);
    if (!r) throw new VolumeNotFoundError(`volume ${a.volume_id} does not exist`, { volume_id: a.volume_id });
    const v = this.volume(a.volume_id);
    await v.handOver();
    this.volumes.delete(a.volume_id);
    await removeLocal(this.root, r.namespace);
    await this.registry.update(a.volume_id, (x) => (x.node_id = a.target_node_id));
    this.publish('owner_changed', { name: r.target_path, volume_id: a.volume_id, new_owner_id: a.target_node_id });
  }

  /** Local restart on this node (falls back to a backend restart when there is no local state). */
  async restart_object(a: { object_id: string; force_restart?: boolean }): Promise<void> {
    let r = this.registry.find(a.object_id);
    // Right after a move the new owner may be asked before the registry's change reached it: ask the store.
    if (r?.node_id !== this.o.nodeId) r = await this.registry.findFresh(a.object_id);
    if (!r) throw new VolumeNotFoundError(`volume ${a.object_id} does not exist`, { volume_id: a.object_id });
    // Only the registered owner runs a volume: a node that was replaced must not start it again.
    if (r.node_id !== this.o.nodeId) throw new NotOwnerError(`volume ${a.object_id} is registered to node ${r.node_id}, not ${this.o.nodeId}`, { volume_id: a.object_id, node_id: r.node_id });
    const running = this.volumes.get(a.object_id);
    if (running && !running.halted) return;
    if (running) {
      this.volumes.delete(a.object_id);
      await running.stop({ abandon: true });
    }
    const owner_tag = await this.registry.nextOwnerTag();
    await this.registry.update(a.object_id, (x) => (x.owner_tag = owner_tag));
    const local = await hasCurrentLocalState(this.ctx(), r.namespace);
    const v = local ? await restartLocal(this.ctx(), r.namespace, owner_tag) : await restartFromBackend(this.ctx(), r.namespace, owner_tag);
    const stored = parseStoredDtlConfig((await this.o.backend.get(r.namespace, FAILOVERCACHE_CONFIG_OBJECT).catch(() => Buffer.from('null'))).toString('utf8'));
    const replay = await replayDtl(v, stored, this.dtlTimeouts, local ? fromLocal(v) : fromBackend(v), local ? 'local' : 'backend');
    this.replays.set(a.object_id, replay);
    this.reportReplay(a.object_id, replay, local);
    v.dtl.load(stored);
    this.volumes.set(a.object_id, v);
    await this.attachMds(v);
    await v.dtl.reattach();
  }

  /**
   * Connects a volume that just started here to its metadata backend: its stored MDS list, or this node's default.
   * Taking the master happens in the background: the volume serves from its own table meanwhile.
   */
  private async attachMds(v: Volume): Promise<void> {
    const cfg = v.cfg.mdsBackend ?? this.o.mds?.defaults();
    if (!this.o.mds || !cfg || cfg.nodes.length === 0) return;
    const link = new MdsLink(v, cfg, this.o.mds.client);
    v.mds = link;
    v.table.onBarrier = (pages, meta, cleared) => link.onBarrier(pages, meta, cleared);
    if (!v.cfg.mdsBackend) await v.saveMdsConfig(cfg);
    void link.attach().catch((e: unknown) => this.o.log.warn({ err: e, volume_id: v.id }, 'taking the MDS master failed; the next barrier tries again'));
  }

  /**
   * Replaces a volume's MDS list (§A14 `update_metadata_backend_config`): a new first entry gets the volume's table
   * and becomes master before anything is stored, so a failure leaves the old configuration whole.
   */
  async update_metadata_backend_config(a: { volume_id: string; metadata_backend_config: Array<{ address: string; port: number }>; max_tlogs_behind?: number }): Promise<void> {
    const v = this.volume(a.volume_id);
    if (!Array.isArray(a.metadata_backend_config) || a.metadata_backend_config.length === 0) throw new InvalidOperationError('a metadata backend configuration needs at least one MDS service');
    const nodes = a.metadata_backend_config.map((n) => `${n.address}:${n.port}`);
    if (new Set(nodes).size !== nodes.length) throw new InvalidOperationError(`an MDS service is listed twice: ${nodes.join(', ')}`);
    if (!this.o.mds) throw new InvalidOperationError('this volume driver has no MDS services');
    const cfg: MdsBackendConfig = { nodes, maxTlogsBehind: a.max_tlogs_behind ?? v.mds?.config.maxTlogsBehind ?? v.cfg.mdsBackend?.maxTlogsBehind ?? 100 };
    if (!v.mds) {
      const link = new MdsLink(v, cfg, this.o.mds.client);
      await link.update(cfg);
      v.mds = link;
      v.table.onBarrier = (pages, meta, cleared) => link.onBarrier(pages, meta, cleared);
      return;
    }
    await v.mds.update(cfg);
  }

  private reportReplay(id: string, replay: DtlReplay, local: boolean): void {
    if (replay.status === 'replayed') {
      if (local && replay.entries === 0) return;
      this.o.log.info({ volume_id: id, entries: replay.entries, dtl: `${replay.host}:${replay.port}` }, local ? 'volume restarted locally; its DTL had writes the local copy lacked' : 'volume restarted from the backend plus its DTL');
    } else if (replay.status === 'unavailable' && local) {
      this.o.log.warn({ volume_id: id, dtl: `${replay.host}:${replay.port}`, reason: replay.reason }, 'volume restarted locally without checking its DTL (only a power loss of this node makes the local copy lack acknowledged writes)');
    } else if (replay.status === 'unavailable') {
      this.o.log.error({ volume_id: id, dtl: `${replay.host}:${replay.port}`, reason: replay.reason, entries: replay.entries }, 'volume restarted from the backend without its DTL: writes its previous owner had not uploaded may be missing');
      this.publish('volumedriver_error', { code: 22, code_name: 'GetSCOFromFOC', volume_name: id, info: `DTL ${replay.host}:${replay.port} could not be replayed: ${replay.reason}` });
    }
  }

  // ---- DTL (B1: set_manual_dtl_config, get_dtl_config, get_dtl_config_mode) --------------------------

  /** Points the volume's DTL at a StorageDriver (`null`: standalone); resolves once the link is up or DEGRADED. */
  async set_manual_dtl_config(a: { volume_id: string; config: DtlConfig | null }): Promise<void> {
    const v = this.volume(a.volume_id);
    v.checkUsable();
    await v.dtl.setConfig(a.config);
  }

  get_dtl_config(a: { volume_id: string }): DtlConfig | null {
    return this.volume(a.volume_id).dtl.config;
  }

  /** The DTL configuration of every volume running here (one call to count DTLs per node, not one per volume). */
  dtl_configs(): Record<string, DtlConfig | null> {
    return Object.fromEntries([...this.volumes].map(([id, v]) => [id, v.dtl.config]));
  }

  get_dtl_config_mode(a: { volume_id: string }): DtlConfigMode {
    return this.volume(a.volume_id).dtl.configMode;
  }

  /** What the last restart of a volume did with its DTL (after a failover: the replay that brought its writes back). */
  dtl_replay(a: { volume_id: string }): DtlReplay | null {
    return this.replays.get(a.volume_id) ?? null;
  }

  /** Drops local state and restarts from the backend (what another node does after a migration). */
  async restart_from_backend(a: { object_id: string }): Promise<void> {
    const r = this.registry.find(a.object_id);
    if (!r) throw new VolumeNotFoundError(`volume ${a.object_id} does not exist`, { volume_id: a.object_id });
    const running = this.volumes.get(a.object_id);
    this.volumes.delete(a.object_id);
    await running?.stop();
    await removeLocal(this.root, r.namespace);
    await this.restart_object({ object_id: a.object_id });
  }

  list_volumes(a: { node_id?: string } = {}): string[] {
    return this.registry.list().filter((r) => a.node_id === undefined || r.node_id === a.node_id).map((r) => r.object_id);
  }

  info_volume(a: { volume_id: string }): VolumeInfo {
    const v = this.volume(a.volume_id);
    const r = this.registry.find(a.volume_id)!;
    const stored = [...v.doc.snapshots.flatMap((s) => s.tlogs), ...v.doc.current].filter((t) => t.written).reduce((n, t) => n + t.size, 0);
    return {
      volume_id: v.id, namespace: v.cfg.ns, parent_namespace: v.cfg.parentNs, parent_snapshot_id: v.cfg.parentSnapshot, parent_volume_id: r.parent_volume,
      volume_size: v.size, lba_size: v.cfg.lbaSize, lba_count: v.cfg.lbaCount, cluster_multiplier: v.clusterSize / v.cfg.lbaSize,
      sco_multiplier: v.cfg.scoMultiplier, tlog_multiplier: v.cfg.tlogMultiplier, failover_mode: v.dtl.state, halted: v.halted,
      footprint: v.meta.usedClusters() * v.clusterSize, stored, object_type: r.object_type, vrouter_id: r.node_id, owner_tag: r.owner_tag,
      metadata_backend_config: (v.mds?.config.nodes ?? v.cfg.mdsBackend?.nodes ?? []).map((n) => {
        const [address, port] = splitAddress(n);
        return { address, port };
      }),
    };
  }

  /** I/O counters of a volume running here since it started (B2). */
  statistics_volume(a: { volume_id: string }): IoStatistics {
    return this.volume(a.volume_id).statistics.snapshot();
  }

  /** I/O counters summed over the volumes running on this node (B2 `statistics_node`). */
  statistics_node(_a: Record<string, never> = {}): IoStatistics {
    return sumIoStatistics([...this.volumes.values()].map((v) => v.statistics.snapshot()));
  }

  // ---- snapshots and backend sync (B1) ------------------------------------------------------------

  create_snapshot(a: { volume_id: string; snapshot_id?: string; metadata?: Buffer }): Promise<string> {
    return createSnapshot(this.volume(a.volume_id), a.snapshot_id ?? randomUUID(), a.metadata ?? Buffer.alloc(0));
  }

  delete_snapshot(a: { volume_id: string; snapshot_id: string }): Promise<void> {
    // Under the scrub lease: a snapshot must not merge into another while that one is being scrubbed.
    return this.scrubs.leases.with(a.volume_id, () =>
      deleteSnapshot(this.volume(a.volume_id), a.snapshot_id, async (s) => Object.values((await this.registry.findFresh(a.volume_id))?.descendants ?? {}).includes(s)));
  }

  list_snapshots(a: { volume_id: string }): string[] {
    return listSnapshots(this.volume(a.volume_id));
  }

  info_snapshot(a: { volume_id: string; snapshot_id: string }): SnapshotInfo {
    return snapshotInfo(this.volume(a.volume_id), a.snapshot_id);
  }

  is_volume_synced_up_to_snapshot(a: { volume_id: string; snapshot_name: string }): boolean {
    return isSyncedUpToSnapshot(this.volume(a.volume_id), a.snapshot_name);
  }

  schedule_backend_sync(a: { volume_id: string }): Promise<string> {
    return scheduleBackendSync(this.volume(a.volume_id));
  }

  is_volume_synced_up_to_tlog(a: { volume_id: string; tlog_name: string }): boolean {
    return isSyncedUpToTLog(this.volume(a.volume_id), a.tlog_name);
  }

  get_sco_multiplier(a: { volume_id: string }): number {
    return this.volume(a.volume_id).cfg.scoMultiplier;
  }

  get_tlog_multiplier(a: { volume_id: string }): number {
    return this.volume(a.volume_id).cfg.tlogMultiplier;
  }

  set_sco_multiplier(a: { volume_id: string; sco_multiplier: number }): Promise<void> {
    return setScoMultiplier(this.volume(a.volume_id), a.sco_multiplier, (n) => checkGeometry({ ...this.o.geometry, scoMultiplier: n }, this.o.allowTinyScos));
  }

  /** `null` = back to the vPool default. */
  set_tlog_multiplier(a: { volume_id: string; tlog_multiplier: number | null }): Promise<void> {
    return setTLogMultiplier(this.volume(a.volume_id), a.tlog_multiplier ?? this.o.geometry.tlogMultiplier);
  }

  /** Deletes several snapshots; reports which were removed, unknown, or busy (have clones). */
  async delete_snapshots(a: { volume_id: string; snapshots: string[]; skip_used_snapshots?: boolean; ignore_unknown_snapshots?: boolean }): Promise<{ removed: string[]; unknown: string[]; busy: string[] }> {
    const out = { removed: [] as string[], unknown: [] as string[], busy: [] as string[] };
    const known = new Set(this.list_snapshots({ volume_id: a.volume_id }));
    const r = this.registry.find(a.volume_id);
    const used = new Set(Object.values(r?.descendants ?? {}).filter((x): x is string => x !== null));
    for (const s of a.snapshots) {
      if (!known.has(s)) {
        if (!a.ignore_unknown_snapshots) throw new SnapshotNotFoundError(`snapshot ${s} not found on ${a.volume_id}`, { snapshot_id: s });
        out.unknown.push(s);
      } else if (used.has(s)) {
        if (!a.skip_used_snapshots) throw new ObjectStillHasChildrenError(`snapshot ${s} of ${a.volume_id} has clones`, { snapshot_id: s });
        out.busy.push(s);
      } else {
        await this.delete_snapshot({ volume_id: a.volume_id, snapshot_id: s });
        out.removed.push(s);
      }
    }
    return out;
  }

  /** Test and tooling access to a running volume. */
  running(id: string): Volume | undefined {
    return this.volumes.get(id);
  }

  // ---- scrubbing (A16, C9) -------------------------------------------------------------------------

  /** Scrub settings from the cluster's configuration, applied before start. */
  configureScrub(settings: Partial<ScrubSettings>): void {
    this.o.scrub = { ...this.o.scrub, ...settings };
  }

  private scrubManager: ScrubManager | undefined;

  /** This driver's ScrubManager: jobs and leases in the vPool's registry. */
  get scrubs(): ScrubManager {
    this.scrubManager ??= new ScrubManager({
      nodeId: this.o.nodeId, backend: this.o.backend, registry: this.registry, store: scrubStoreFor(this.registry, this.root),
      running: (id) => this.volumes.get(id), scratchDir: join(this.root, 'scrub'), log: this.o.log, settings: this.o.scrub,
    });
    return this.scrubManager;
  }

  /** One unit per snapshot in the backend and not scrubbed yet; templates are refused (INVALID_OPERATION). */
  get_scrubbing_workunits(a: { volume_id: string }): ScrubWork[] {
    const v = this.volume(a.volume_id);
    return scrubWorkUnits(v.doc, v.cfg);
  }

  /** Runs on any driver of the vPool, under the volume's scrub lease. */
  scrub(a: { work: ScrubWork }): Promise<ScrubReply> {
    return this.scrubs.scrub(a.work);
  }

  /** On the owner: applies to the volume; its clones follow through the registry's scrub jobs. */
  apply_scrubbing_result(a: { volume_id: string; result_name: string }): Promise<{ applied: boolean; reason?: string; relocations: number; clones_pending: number }> {
    return this.scrubs.apply(this.volume(a.volume_id), a.result_name);
  }

  async scrub_state(a: { volume_id: string }): Promise<{ last_scrub: string | null; work_pending: number; running: boolean }> {
    const v = this.volume(a.volume_id);
    const work_pending = v.cfg.isTemplate ? 0 : scrubWorkUnits(v.doc, v.cfg).length;
    return { ...(await this.scrubs.state(a.volume_id)), work_pending };
  }

  // ---- NBD exports ------------------------------------------------------------------------------

  lookup(name: string): NbdVolume | undefined {
    const r = this.registrationOf(name);
    const v = r ? this.volumes.get(r.object_id) : undefined;
    // A volume halted here that another node owns now (fenced after a stall, moved away) is that node's to serve.
    if (!v || (v.halted && r!.node_id !== this.o.nodeId)) return undefined;
    return nbdView(v, this.o.ioFence ?? OPEN_FENCE);
  }

  /** The node the registry names as the owner of an export (volume id or devicename), served here or not. */
  exportOwner(name: string): string | undefined {
    return this.registrationOf(name)?.node_id;
  }

  private registrationOf(name: string): Registration | undefined {
    return this.registry.find(name) ?? this.registry.findByPath(name) ?? this.registry.findByPath(`/${name}`) ?? this.registry.findByPath(`/${name}.raw`);
  }

  list(): string[] {
    return [...this.volumes.keys()];
  }

  /**
   * After this node's I/O lease lapsed (a stall, a partition): each running volume is compared with its stored
   * registration, and halted when another node owns it now or started it again under a newer owner tag. Throws while
   * the vPool counts this node OFFLINE: its failover may still be taking volumes, so nothing may be served yet.
   */
  async revalidateOwnership(): Promise<void> {
    for (const [id, v] of this.volumes) {
      if (v.halted) continue;
      const r = await this.registry.findFresh(id);
      if (!r || r.node_id !== this.o.nodeId || r.owner_tag !== v.ownerTag) {
        v.halt(`fenced: while this node could not show it was alive, ${r ? `node ${r.node_id} took the volume over (owner tag ${r.owner_tag})` : 'the volume was removed'}`);
      }
    }
    const state = (await this.registry.nodeStateFresh?.(this.o.nodeId)) ?? this.registry.nodeStates()[this.o.nodeId];
    if (state === 'OFFLINE') throw new Error(`node ${this.o.nodeId} is OFFLINE in vPool ${this.o.vpool}: its failover may still be running`);
  }

  private checkNew(id: string, targetPath: string): void {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(id) || id.includes('..')) throw new InvalidOperationError(`'${id}' is not a valid volume id`);
    if (this.registry.find(id)) throw new VolumeExistsError(`volume ${id} exists`, { volume_id: id });
    if (this.registry.findByPath(targetPath)) throw new VolumeExistsError(`${targetPath} exists`, { target_path: targetPath });
  }

  private registration(id: string, target_path: string, owner_tag: number, parent: string | null, snapshot: string | null): Registration {
    return { object_id: id, namespace: id, node_id: this.o.nodeId, object_type: 'BASE', target_path, parent_volume: parent, parent_snapshot: snapshot, descendants: {}, owner_tag };
  }

  private async sizeFromBackend(ns: string): Promise<number> {
    const cfg = JSON.parse((await this.o.backend.get(ns, 'volume_configuration')).toString('utf8')) as { lbaCount: number; lbaSize: number };
    return cfg.lbaCount * cfg.lbaSize;
  }
}

/** `"<bytes>B"` as the original passes sizes, or a number. */
export function parseSize(s: number | string): number {
  const n = typeof s === 'number' ? s : /^\d+B?$/.test(s) ? Number(s.replace(/B$/, '')) : NaN;
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidSizeError(`'${String(s)}' is not a size in bytes`);
  return n;
}

function nbdView(v: Volume, fence: IoFence): NbdVolume {
  return {
    id: v.id,
    get size() {
      return v.size;
    },
    get readOnly() {
      return v.cfg.isTemplate;
    },
    get blockSize() {
      return v.clusterSize;
    },
    get halted() {
      return v.halted || !fence.isOpen();
    },
    get serving() {
      return fence.isOpen();
    },
    whenServing: async () => {
      await fence.untilOpen(FENCE_WAIT_MS);
    },
    read: (offset, length, into) => v.read(offset, length, into),
    write: async (offset, data, opts) => {
      await v.write(offset, data);
      if (opts?.fua) await v.sync();
    },
    sync: () => v.sync(),
  };
}

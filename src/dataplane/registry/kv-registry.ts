import type { JetStreamClient, KV, KvEntry, QueuedIterator } from 'nats';
import type { Logger } from 'pino';
import { VolumeExistsError } from '../../errors.js';
import type { Registration, Registry } from '../driver/registry.js';
import { CasWriter } from './cas.js';
import { findDescendantProblems, type DescendantProblems } from './descendants-check.js';
import {
  CLUSTER_CONFIGURATION, OWNER_TAG_COUNTER, decodeValue, isRegistryKey, registrationKey, registryBucketName, type ClusterConfiguration, type NodeState,
} from './keys.js';
import { RegistryMirror } from './mirror.js';

export interface KvRegistryOptions {
  /** vPool guid: the bucket is `ovs_registry_<guid>`. */
  vpool: string;
  /** This node's StorageDriver id, recorded ONLINE in `cluster_configuration` on load when it has no entry yet. */
  nodeId: string;
  /** Replicas of the bucket when this registry is the first to open it (the agent's `kvReplicas`). */
  replicas?: number;
  /** Compare-and-set attempts per write before RaceConditionError (default 50). */
  maxAttempts?: number;
  /** Delay before watching again when the watch ends by itself (default 1 s). */
  rewatchMs?: number;
  log?: Logger;
}

/**
 * Registry of one vPool on a JetStream KV bucket (C7, P2), shared by the nodes of the vPool. Reads come from a
 * watch-fed mirror (synchronous; other nodes' writes arrive shortly after they happen); writes are compare-and-set
 * on the key's revision and show in this instance's reads as soon as they resolve.
 */
export class KvRegistry implements Registry {
  readonly bucket: string;
  private readonly mirror = new RegistryMirror();
  private opening: Promise<CasWriter> | undefined;
  private loading: Promise<void> | undefined;
  private watcher: QueuedIterator<KvEntry> | undefined;
  private closed = false;
  private kv: KV | undefined;

  /**
   * `source`: the agent's JetStreamClient (the bucket `ovs_registry_<vpool>` is opened, or created with `replicas`,
   * on load), or this vPool's bucket already open (then `bucket` and `replicas` are not used).
   */
  constructor(private readonly source: JetStreamClient | KV, private readonly o: KvRegistryOptions) {
    this.bucket = registryBucketName(o.vpool);
  }

  load(): Promise<void> {
    this.loading ??= this.loadOnce().catch((e: unknown) => {
      this.loading = undefined;
      throw e;
    });
    return this.loading;
  }

  find(id: string): Registration | undefined {
    return this.mirror.registration(id);
  }

  async findFresh(id: string): Promise<Registration | undefined> {
    await (await this.writer()).refresh(registrationKey(id));
    return this.find(id);
  }

  findByPath(path: string): Registration | undefined {
    return this.mirror.registrationAt(path);
  }

  list(): Registration[] {
    return this.mirror.allRegistrations();
  }

  async nextOwnerTag(): Promise<number> {
    const { after } = await (await this.writer()).modify<number>(OWNER_TAG_COUNTER, (n) => ({ put: (n ?? 0) + 1 }));
    return after!;
  }

  /** The clone's key is written before its parent's descendants: a crash between leaves what repairDescendants fixes. */
  async add(r: Registration): Promise<void> {
    await (await this.writer()).modify<Registration>(registrationKey(r.object_id), (held) => {
      if (held) throw new VolumeExistsError(`volume ${r.object_id} exists`, { volume_id: r.object_id });
      return { put: structuredClone(r) };
    });
    if (r.parent_volume !== null) await this.listDescendant(r.parent_volume, r.object_id, r.parent_snapshot);
  }

  async update(id: string, fn: (r: Registration) => void): Promise<void> {
    await (await this.writer()).modify<Registration>(registrationKey(id), (r) => {
      if (!r) return 'keep';
      fn(r);
      return { put: r };
    });
  }

  /** The clone's key goes first, then its parent's descendants entry (the same order repairDescendants expects). */
  async remove(id: string): Promise<void> {
    const { before } = await (await this.writer()).modify<Registration>(registrationKey(id), (r) => (r ? 'delete' : 'keep'));
    if (before?.parent_volume) await this.dropDescendant(before.parent_volume, id);
  }

  /** node id → state, as this node last saw `cluster_configuration`. */
  nodeStates(): Record<string, NodeState> {
    return Object.fromEntries(Object.entries(this.mirror.clusterConfiguration()).map(([node, c]) => [node, c.state]));
  }

  async nodeStateFresh(nodeId: string): Promise<NodeState | undefined> {
    await (await this.writer()).refresh(CLUSTER_CONFIGURATION);
    return this.nodeStates()[nodeId];
  }

  async setNodeState(nodeId: string, state: NodeState): Promise<void> {
    await (await this.writer()).modify<ClusterConfiguration>(CLUSTER_CONFIGURATION, (c = {}) => {
      if (c[nodeId]?.state === state) return 'keep';
      c[nodeId] = { ...c[nodeId], state };
      return { put: c };
    });
  }

  /**
   * Fixes the descendants lists a crash in the middle of `add` or `remove` left behind; returns what it changed. Each
   * finding is confirmed on the server first, since the mirror may not yet have another node's latest write.
   */
  async repairDescendants(): Promise<DescendantProblems> {
    await this.load();
    const writer = await this.writer();
    const found = findDescendantProblems(this.list());
    const fixed: DescendantProblems = { unlisted: [], stale: [] };
    for (const u of found.unlisted) {
      await writer.refresh(registrationKey(u.clone));
      if (this.find(u.clone)?.parent_volume !== u.parent) continue;
      if (await this.listDescendant(u.parent, u.clone, u.snapshot)) fixed.unlisted.push(u);
    }
    for (const s of found.stale) {
      await writer.refresh(registrationKey(s.clone));
      if (this.find(s.clone)?.parent_volume === s.parent) continue;
      if (await this.dropDescendant(s.parent, s.clone)) fixed.stale.push(s);
    }
    return fixed;
  }

  /** Stops the watch; reads keep the last state seen. The JetStream connection stays its owner's to close. */
  close(): Promise<void> {
    this.closed = true;
    this.watcher?.stop();
    return Promise.resolve();
  }

  private async loadOnce(): Promise<void> {
    const writer = await this.writer();
    await writer.modify<ClusterConfiguration>(CLUSTER_CONFIGURATION, (c = {}) => {
      if (c[this.o.nodeId]) return 'keep';
      c[this.o.nodeId] = { state: 'ONLINE' };
      return { put: c };
    });
  }

  private async listDescendant(parent: string, clone: string, snapshot: string | null): Promise<boolean> {
    const { written } = await (await this.writer()).modify<Registration>(registrationKey(parent), (p) => {
      if (!p || (clone in p.descendants && p.descendants[clone] === snapshot)) return 'keep';
      p.descendants[clone] = snapshot;
      return { put: p };
    });
    return written;
  }

  private async dropDescendant(parent: string, clone: string): Promise<boolean> {
    const { written } = await (await this.writer()).modify<Registration>(registrationKey(parent), (p) => {
      if (!p || !(clone in p.descendants)) return 'keep';
      delete p.descendants[clone];
      return { put: p };
    });
    return written;
  }

  /** Opens the bucket and waits for the watch's initial values, once. */
  private writer(): Promise<CasWriter> {
    this.opening ??= this.open().catch((e: unknown) => {
      this.opening = undefined;
      throw e;
    });
    return this.opening;
  }

  /** The bucket itself, for other `scrub.*` keys of the vPool (the ScrubManager's jobs and leases). */
  async bucketKv(): Promise<KV> {
    await this.writer();
    return this.kv!;
  }

  private async open(): Promise<CasWriter> {
    const kv = 'views' in this.source ? await this.source.views.kv(this.bucket, { history: 1, replicas: this.o.replicas ?? 1 }) : this.source;
    this.kv = kv;
    await this.watch(kv);
    return new CasWriter(kv, this.mirror, this.o.maxAttempts ?? 50);
  }

  /** Resolves when the bucket's current values are in the mirror; then follows changes until close. */
  private watch(kv: KV): Promise<void> {
    return new Promise((resolve, reject) => {
      kv.watch({ key: '>', initializedFn: () => resolve() }).then((iter) => {
        if (this.closed) iter.stop(); // closed while a restarted watch was starting
        this.watcher = iter;
        void this.follow(kv, iter).finally(() => reject(new Error(`the watch of registry bucket ${this.bucket} ended before its initial values`)));
      }, reject);
    });
  }

  private async follow(kv: KV, iter: QueuedIterator<KvEntry>): Promise<void> {
    try {
      for await (const e of iter) {
        if (!isRegistryKey(e.key)) continue;
        const value = e.operation === 'PUT' ? decodeValue(e.key, e.value) : undefined;
        if (e.operation === 'PUT' && value === undefined) this.o.log?.warn({ bucket: this.bucket, key: e.key }, 'malformed registry value ignored');
        else this.mirror.apply(e.key, e.revision, value);
      }
    } catch (e) {
      this.o.log?.warn({ err: e, bucket: this.bucket }, 'registry watch failed');
    }
    if (this.closed) return;
    this.o.log?.warn({ bucket: this.bucket }, 'registry watch ended; watching again');
    setTimeout(() => {
      if (!this.closed) this.watch(kv).catch((e: unknown) => this.o.log?.error({ err: e, bucket: this.bucket }, 'registry watch did not restart'));
    }, this.o.rewatchMs ?? 1000).unref();
  }
}

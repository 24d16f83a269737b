import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Mutex } from '../common/locks.js';

export type ObjectType = 'BASE' | 'TEMPLATE';

/** ObjectRegistration (B5): where a volume lives and its clone tree links. */
export interface Registration {
  object_id: string;
  namespace: string;
  node_id: string;
  object_type: ObjectType;
  /** Devicename path (`/name.raw`) the volume was created under. */
  target_path: string;
  parent_volume: string | null;
  parent_snapshot: string | null;
  /** clone id → snapshot of this volume it was made from. */
  descendants: Record<string, string | null>;
  owner_tag: number;
}

/**
 * Where the volume driver keeps its registrations (C7). Reads are synchronous (an in-memory copy); writes are
 * durable when their promise resolves and visible to this instance's reads at once.
 */
export interface Registry {
  /** Resolves once the stored registrations can be read; calling it again is harmless. */
  load(): Promise<void>;
  find(id: string): Registration | undefined;
  /** `find` after bringing this registration up to the stored one (another node's write may not have arrived yet). */
  findFresh(id: string): Promise<Registration | undefined>;
  /** The registration created under a devicename path (`/name.raw`). */
  findByPath(path: string): Registration | undefined;
  list(): Registration[];
  /** A new owner tag, larger than every tag handed out before in this vPool. */
  nextOwnerTag(): Promise<number>;
  /** Registers a volume and, for a clone, records it in its parent's descendants. */
  add(r: Registration): Promise<void>;
  /** Changes a registration in place; `fn` may run more than once (on a fresh copy when another writer won). No-op when absent. */
  update(id: string, fn: (r: Registration) => void): Promise<void>;
  /** Unregisters a volume and drops it from its parent's descendants. */
  remove(id: string): Promise<void>;
  /** Releases what the registry holds (watches); the connection or file stays its owner's. */
  close(): Promise<void>;
  /** The cluster registry (`cluster_configuration`): which nodes of the vPool are ONLINE or OFFLINE. */
  nodeStates(): Record<string, NodeState>;
  /** One node's state as stored now (another node's write may not have reached `nodeStates` yet). */
  nodeStateFresh?(nodeId: string): Promise<NodeState | undefined>;
  setNodeState(nodeId: string, state: NodeState): Promise<void>;
}

export type NodeState = 'ONLINE' | 'OFFLINE';

interface RegistryFile {
  objects: Record<string, Registration>;
  owner_tag_counter: number;
  nodes?: Record<string, NodeState>;
}

/** Phase-1 registry (C7 FileRegistry): one JSON file per vPool, changes serialised by a mutex, saved atomically. */
export class FileRegistry implements Registry {
  private readonly mutex = new Mutex();
  private data: RegistryFile = { objects: {}, owner_tag_counter: 0 };

  constructor(private readonly path: string) {}

  async load(): Promise<void> {
    try {
      this.data = JSON.parse(await readFile(this.path, 'utf8')) as RegistryFile;
    } catch {
      await mkdir(dirname(this.path), { recursive: true });
    }
  }

  find(id: string): Registration | undefined {
    return this.data.objects[id];
  }

  findFresh(id: string): Promise<Registration | undefined> {
    return Promise.resolve(this.find(id));
  }

  findByPath(path: string): Registration | undefined {
    return Object.values(this.data.objects).find((r) => r.target_path === path);
  }

  list(): Registration[] {
    return Object.values(this.data.objects);
  }

  nodeStates(): Record<string, NodeState> {
    return { ...this.data.nodes };
  }

  setNodeState(nodeId: string, state: NodeState): Promise<void> {
    return this.change((d) => {
      d.nodes = { ...d.nodes, [nodeId]: state };
    });
  }

  nextOwnerTag(): Promise<number> {
    return this.change((d) => ++d.owner_tag_counter);
  }

  /** Registers a volume; the clone is written first, then the parent's descendants (a crash leaves a repairable state). */
  add(r: Registration): Promise<void> {
    return this.change((d) => {
      d.objects[r.object_id] = r;
      if (r.parent_volume) {
        const p = d.objects[r.parent_volume];
        if (p) p.descendants[r.object_id] = r.parent_snapshot;
      }
    });
  }

  update(id: string, fn: (r: Registration) => void): Promise<void> {
    return this.change((d) => {
      const r = d.objects[id];
      if (r) fn(r);
    });
  }

  remove(id: string): Promise<void> {
    return this.change((d) => {
      const r = d.objects[id];
      if (!r) return;
      delete d.objects[id];
      if (r.parent_volume) delete d.objects[r.parent_volume]?.descendants[id];
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private change<T>(fn: (d: RegistryFile) => T): Promise<T> {
    return this.mutex.run(async () => {
      const result = fn(this.data);
      const tmp = `${this.path}.tmp`;
      await writeFile(tmp, JSON.stringify(this.data));
      await rename(tmp, this.path);
      return result;
    });
  }
}

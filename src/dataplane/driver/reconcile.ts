import type { Logger } from 'pino';
import { OWNER_TAG_OBJECT, type Backend } from '../backend/backend.js';
import { VOLUME_CONFIG_OBJECT, type VolumeConfig } from '../volume/config.js';
import type { Registration, Registry } from './registry.js';

/** The devicename a volume was created under, kept in its namespace so the registry can be rebuilt from the backend. */
export const TARGET_PATH_OBJECT = 'target_path';

function hasDescendantsCheck(r: Registry): r is Registry & { repairDescendants(): Promise<unknown> } {
  return typeof (r as { repairDescendants?: unknown }).repairDescendants === 'function';
}

interface BackendVolume {
  cfg: VolumeConfig;
  claim: { ownerTag: number; nodeId: string };
  targetPath: string;
}

async function readVolume(backend: Backend, ns: string): Promise<BackendVolume | undefined> {
  try {
    const cfg = JSON.parse((await backend.get(ns, VOLUME_CONFIG_OBJECT)).toString('utf8')) as VolumeConfig;
    const claim = JSON.parse((await backend.get(ns, OWNER_TAG_OBJECT)).toString('utf8')) as { ownerTag: number; nodeId: string };
    const targetPath = await backend.get(ns, TARGET_PATH_OBJECT).then((b) => b.toString('utf8'), () => `/${cfg.volumeId}.raw`);
    return { cfg, claim, targetPath };
  } catch {
    return undefined; // not a volume's namespace, or one being created or deleted right now
  }
}

/**
 * The backend is the root of truth; the registry on KV can roll back (nats-server fsyncs its store every two minutes,
 * so a power loss of a one-server cluster loses recent writes). At start, every node brings the registry in line:
 * volumes in the backend that the registry lost are registered again under the node that last claimed them, a
 * registration whose backend claim is newer (a move or failover the registry forgot) follows the claim, this node's
 * registrations whose namespace is gone from the backend go, and the owner-tag counter is raised above every claim.
 */
export async function reconcileRegistry(registry: Registry, backend: Backend, nodeId: string, log: Logger): Promise<{ added: string[]; repointed: string[]; removed: string[] }> {
  const out = { added: [] as string[], repointed: [] as string[], removed: [] as string[] };
  const namespaces = new Set(await backend.listNamespaces());
  const volumes = (await Promise.all([...namespaces].map((ns) => readVolume(backend, ns)))).filter((v): v is BackendVolume => v !== undefined);
  // Parents first, so a clone's registration finds its parent's.
  volumes.sort((a, b) => Number(a.cfg.parentNs !== null) - Number(b.cfg.parentNs !== null));
  let highestTag = 0;
  for (const { cfg, claim, targetPath } of volumes) {
    highestTag = Math.max(highestTag, claim.ownerTag);
    const known = registry.find(cfg.volumeId);
    if (!known) {
      const r: Registration = {
        object_id: cfg.volumeId, namespace: cfg.ns, node_id: claim.nodeId, object_type: cfg.isTemplate ? 'TEMPLATE' : 'BASE', target_path: targetPath,
        parent_volume: cfg.parentNs, parent_snapshot: cfg.parentSnapshot, descendants: {}, owner_tag: claim.ownerTag,
      };
      await registry.add(r).then(() => out.added.push(cfg.volumeId), (e: unknown) => log.debug({ err: e, volume_id: cfg.volumeId }, 'registered meanwhile'));
    } else if (claim.ownerTag > known.owner_tag && claim.nodeId !== known.node_id) {
      await registry.update(cfg.volumeId, (x) => {
        if (claim.ownerTag > x.owner_tag) Object.assign(x, { node_id: claim.nodeId, owner_tag: claim.ownerTag });
      });
      out.repointed.push(cfg.volumeId);
    }
  }
  // Only this node's own: another node may be between registering a new volume and creating its namespace.
  for (const r of registry.list()) {
    if (r.node_id !== nodeId || namespaces.has(r.namespace)) continue;
    await registry.remove(r.object_id);
    out.removed.push(r.object_id);
  }
  for (let tag = 0; tag < highestTag; ) tag = await registry.nextOwnerTag();
  // A crash between a clone's registration and its parent's descendants (or the reverse on removal) is repaired here.
  if (hasDescendantsCheck(registry)) await registry.repairDescendants();
  if (out.added.length + out.repointed.length + out.removed.length > 0) log.warn(out, 'volume registry brought in line with the backend');
  return out;
}

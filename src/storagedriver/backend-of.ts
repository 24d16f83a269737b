import { createHash } from 'node:crypto';
import type { JetStreamClient } from 'nats';
import type { Backend } from '../dataplane/backend/backend.js';
import { LocalDirBackend } from '../dataplane/backend/local-dir.js';
import { backendBucketName, NatsObjectBackend } from '../dataplane/backend/nats-object.js';
import { VpoolError } from '../errors.js';
import type { ModelObject } from '../model/schema.js';
import { faultableBackend } from '../testmode/faulty-backend.js';

/** A vPool's `metadata.backend.backend_info`, as add_vpool stores it. */
export type BackendInfo = { type: 'local'; path: string } | { type: 'nats'; bucket: string };

/** The backend a vPool names; the bucket of a `nats` backend defaults to `ovs_backend_<vpool guid>`. */
export function backendInfoOf(vpool: ModelObject): BackendInfo {
  const info = ((vpool.metadata as Record<string, unknown> | undefined)?.backend as { backend_info?: Record<string, unknown> } | undefined)?.backend_info ?? {};
  if (info.type === 'nats') {
    const bucket = info.bucket === undefined ? backendBucketName(vpool.guid) : info.bucket;
    if (typeof bucket === 'string' && /^[A-Za-z0-9_-]+$/.test(bucket)) return { type: 'nats', bucket };
    throw new VpoolError(`vPool ${String(vpool.name)} names an invalid backend bucket ${JSON.stringify(bucket)}`, { vpool_guid: vpool.guid });
  }
  // Local is the type of vPools stored before backends had one.
  if ((info.type === 'local' || info.type === undefined) && typeof info.path === 'string' && info.path !== '') return { type: 'local', path: info.path };
  throw new VpoolError(`vPool ${String(vpool.name)} has no usable backend (backend_info ${JSON.stringify(info)})`, { vpool_guid: vpool.guid });
}

/**
 * The guid of the backend a vPool stores on, derived from where it is (a local directory, a bucket), so vPools that
 * share a backend share its guid and vPools stored before it existed have one too: what `run_backend_domain_hooks`
 * and `get_proxy_config` name it by.
 */
export function backendGuidOf(info: BackendInfo): string {
  const h = createHash('sha1').update(JSON.stringify(info.type === 'nats' ? ['nats', info.bucket] : ['local', info.path])).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * The backend of a vPool's StorageDriver: a directory for `{type: 'local', path}`, the JetStream Object Store of the
 * agents' NATS for `{type: 'nats', bucket?}` (bucket created with `replicas` by the first StorageDriver). On an agent
 * in test mode its puts pass the `backend.put` fault point.
 */
export function backendOf(vpool: ModelObject, js: JetStreamClient, opts: { replicas: number }): Backend {
  const info = backendInfoOf(vpool);
  return faultableBackend(info.type === 'local' ? new LocalDirBackend(info.path) : new NatsObjectBackend(js, { bucket: info.bucket, replicas: opts.replicas }));
}

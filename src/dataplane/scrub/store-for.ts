import { join } from 'node:path';
import type { Registry } from '../driver/registry.js';
import { KvRegistry } from '../registry/kv-registry.js';
import { FileScrubStore, KvScrubStore, type ScrubStore } from './store.js';

const fileStores = new WeakMap<Registry, ScrubStore>();

/**
 * The scrub keys go where the registrations are: the vPool's KV bucket, or for a FileRegistry a file beside the
 * driver's data (shared by the drivers of one process that share the registry object).
 */
export function scrubStoreFor(registry: Registry, root: string): ScrubStore {
  if (registry instanceof KvRegistry) return new KvScrubStore(() => registry.bucketKv());
  let s = fileStores.get(registry);
  if (!s) fileStores.set(registry, (s = new FileScrubStore(join(root, 'scrub-registry.json'))));
  return s;
}

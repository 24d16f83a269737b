import type { Backend, FenceToken, PutOptions } from '../dataplane/backend/backend.js';
import { faults } from './faults.js';

/**
 * A backend whose puts pass the `backend.put` fault point first (subject `<namespace>/<object name>`, so a fault
 * armed with match `<namespace>` fails every put of that namespace). Everything else goes straight through.
 */
export class PutFaultBackend implements Backend {
  constructor(private readonly inner: Backend) {}

  async put(ns: string, name: string, data: Buffer | { path: string }, opts?: PutOptions): Promise<void> {
    faults.hit('backend.put', `${ns}/${name}`);
    return this.inner.put(ns, name, data, opts);
  }

  createNamespace(ns: string): Promise<void> {
    return this.inner.createNamespace(ns);
  }

  deleteNamespace(ns: string): Promise<void> {
    return this.inner.deleteNamespace(ns);
  }

  namespaceExists(ns: string): Promise<boolean> {
    return this.inner.namespaceExists(ns);
  }

  listNamespaces(): Promise<string[]> {
    return this.inner.listNamespaces();
  }

  list(ns: string, prefix?: string): Promise<string[]> {
    return this.inner.list(ns, prefix);
  }

  exists(ns: string, name: string): Promise<boolean> {
    return this.inner.exists(ns, name);
  }

  get(ns: string, name: string): Promise<Buffer> {
    return this.inner.get(ns, name);
  }

  getRange(ns: string, name: string, offset: number, length: number): Promise<Buffer> {
    return this.inner.getRange(ns, name, offset, length);
  }

  size(ns: string, name: string): Promise<number> {
    return this.inner.size(ns, name);
  }

  delete(ns: string, name: string, opts?: { fence?: FenceToken; mayNotExist?: boolean }): Promise<void> {
    return this.inner.delete(ns, name, opts);
  }

  claim(ns: string, ownerTagDoc: Buffer): Promise<FenceToken> {
    return this.inner.claim(ns, ownerTagDoc);
  }
}

/** The backend as built for a StorageDriver: wrapped only on an agent in test mode, so production puts pay nothing. */
export function faultableBackend(backend: Backend): Backend {
  return faults.enabled ? new PutFaultBackend(backend) : backend;
}

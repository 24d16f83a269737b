// The backend's error types are registered with all others in src/errors/backend.ts.
export { BackendError, BackendRequestError, FencedError, NamespaceExistsError, NamespaceMissingError, ObjectExistsError, ObjectMissingError } from '../../errors/backend.js';

/** Fencing token: the etag of the namespace's `owner_tag` object when this owner claimed it. */
export interface FenceToken {
  ns: string;
  etag: string;
}

export interface PutOptions {
  /** Only succeed while `owner_tag` still has this etag (else FencedError). */
  fence?: FenceToken;
  /** Allow replacing an existing object (SCOs are reused after rollback; snapshots.json is rewritten). */
  overwrite?: boolean;
}

/**
 * Object storage as the volume driver sees it (volumedriver.md C3, C8): namespaces of named objects,
 * atomic whole-object puts, ranged gets, and fencing by owner tag.
 */
export interface Backend {
  createNamespace(ns: string): Promise<void>;
  deleteNamespace(ns: string): Promise<void>;
  namespaceExists(ns: string): Promise<boolean>;
  listNamespaces(): Promise<string[]>;
  list(ns: string, prefix?: string): Promise<string[]>;
  exists(ns: string, name: string): Promise<boolean>;
  get(ns: string, name: string): Promise<Buffer>;
  getRange(ns: string, name: string, offset: number, length: number): Promise<Buffer>;
  /** Size in bytes of an object. */
  size(ns: string, name: string): Promise<number>;
  /** A `{path}` source must not change afterwards: a backend on the same filesystem may link it instead of copying. */
  put(ns: string, name: string, data: Buffer | { path: string }, opts?: PutOptions): Promise<void>;
  delete(ns: string, name: string, opts?: { fence?: FenceToken; mayNotExist?: boolean }): Promise<void>;
  /** Unconditionally overwrites `owner_tag` with `ownerTagDoc`; returns the new fencing token. */
  claim(ns: string, ownerTagDoc: Buffer): Promise<FenceToken>;
}

export const OWNER_TAG_OBJECT = 'owner_tag';

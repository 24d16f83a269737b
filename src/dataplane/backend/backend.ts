import { OvsError } from '../../errors.js';

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

export class BackendError extends OvsError {
  constructor(message: string, details: Record<string, unknown> = {}, retryable = true) {
    super(message, { type: 'BACKEND_ERROR', retryable, details });
  }
}

export class ObjectMissingError extends OvsError {
  constructor(ns: string, name: string) {
    super(`backend object ${ns}/${name} does not exist`, { type: 'BACKEND_OBJECT_MISSING', details: { ns, name } });
  }
}

export class ObjectExistsError extends OvsError {
  constructor(ns: string, name: string) {
    super(`backend object ${ns}/${name} already exists`, { type: 'BACKEND_OBJECT_EXISTS', details: { ns, name } });
  }
}

export class NamespaceMissingError extends OvsError {
  constructor(ns: string) {
    super(`backend namespace ${ns} does not exist`, { type: 'BACKEND_NAMESPACE_MISSING', details: { ns } });
  }
}

/** Another owner claimed the namespace: this one must stop changing it (the volume halts). */
export class FencedError extends OvsError {
  constructor(ns: string, expected: string, actual: string | undefined) {
    super(`namespace ${ns} is owned by someone else now (fenced)`, { type: 'FENCED', details: { ns, expected, actual } });
  }
}

export const OWNER_TAG_OBJECT = 'owner_tag';

import { BackendRequestError } from '../../errors/backend.js';

/** The same names LocalDirBackend accepts, so a volume can move between the two backends unchanged. */
const NAME_RE = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,254}$/;

export function checkName(kind: 'namespace' | 'object', name: string): string {
  if (typeof name === 'string' && NAME_RE.test(name) && !name.includes('..')) return name;
  throw new BackendRequestError(`invalid ${kind} name ${JSON.stringify(name)}`, { kind, name });
}

/**
 * A name as one KV key / subject token: '.' separates tokens there, and '=' (allowed in both, never in a name) takes
 * its place, so the mapping is one to one and a namespace's keys share the prefix `<kind>.<ns>.`.
 */
export function token(name: string): string {
  return name.replaceAll('.', '=');
}

export function untoken(tok: string): string {
  return tok.replaceAll('=', '.');
}

/** Default bucket of a vPool; bucket names allow only `[A-Za-z0-9_-]`. */
export function backendBucketName(vpoolGuid: string): string {
  return `ovs_backend_${vpoolGuid.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/** Base64url with padding: how the Object Store names an object's meta subject. */
export function paddedBase64Url(bytes: Buffer): string {
  return bytes.toString('base64').replaceAll('+', '-').replaceAll('/', '_');
}

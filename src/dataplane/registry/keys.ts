import type { Registration } from '../driver/registry.js';

/** Keys of a vPool's registry bucket (C7). */
export const REGISTRATION_PREFIX = 'reg.';
export const OWNER_TAG_COUNTER = 'owner_tag_counter';
export const CLUSTER_CONFIGURATION = 'cluster_configuration';

export type { NodeState } from '../driver/registry.js';
import type { NodeState } from '../driver/registry.js';

/** One node of the vPool in `cluster_configuration`; room for the original's ClusterNodeConfig later. */
export interface ClusterNode {
  state: NodeState;
}

export type ClusterConfiguration = Record<string, ClusterNode>;

export function registrationKey(objectId: string): string {
  return `${REGISTRATION_PREFIX}${objectId}`;
}

/** Keys this registry reads; others (the spec's `fs.*`, `scrub.*`) belong to later readers of the bucket. */
export function isRegistryKey(key: string): boolean {
  return key.startsWith(REGISTRATION_PREFIX) || key === OWNER_TAG_COUNTER || key === CLUSTER_CONFIGURATION;
}

/** One bucket per vPool; bucket names allow only `[A-Za-z0-9_-]`. */
export function registryBucketName(vpool: string): string {
  return `ovs_registry_${vpool.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

export function encodeValue(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value));
}

/** The value of a registry key, or undefined when it is malformed (or the key is not one of ours). */
export function decodeValue(key: string, bytes: Uint8Array): unknown {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch {
    return undefined;
  }
  if (key.startsWith(REGISTRATION_PREFIX)) return isRegistration(value) ? value : undefined;
  if (key === OWNER_TAG_COUNTER) return Number.isSafeInteger(value) ? value : undefined;
  if (key === CLUSTER_CONFIGURATION) return isClusterConfiguration(value) ? value : undefined;
  return undefined;
}

function isRegistration(v: unknown): v is Registration {
  const r = v as Partial<Registration> | null;
  return typeof r === 'object' && r !== null && typeof r.object_id === 'string' && typeof r.target_path === 'string'
    && typeof r.node_id === 'string' && typeof r.descendants === 'object' && r.descendants !== null;
}

function isClusterConfiguration(v: unknown): v is ClusterConfiguration {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  return Object.values(v as Record<string, unknown>).every((n) => {
    const state = (n as Partial<ClusterNode> | null)?.state;
    return state === 'ONLINE' || state === 'OFFLINE';
  });
}

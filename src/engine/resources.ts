import { BUCKETS } from '../agent.js';
import { registryBucketName } from '../dataplane/registry/keys.js';
import { VOLDRV_STREAM } from '../events/voldrv-events.js';

/** The KV buckets the control plane keeps (model, configuration, leases, task results). */
export function frameworkBuckets(): string[] {
  return [BUCKETS.model, BUCKETS.config, BUCKETS.leases, BUCKETS.tasks];
}

/** The volume registry of each vPool (the original's voldrv Arakoon cluster). */
export function registryBuckets(vpoolGuids: readonly string[]): string[] {
  return vpoolGuids.map(registryBucketName).sort();
}

export function taskResultBucket(): string {
  return BUCKETS.tasks;
}

/** Streams whose messages are events handed to durable consumers. */
export function eventStreams(): string[] {
  return [VOLDRV_STREAM];
}

export function kvStream(bucket: string): string {
  return `KV_${bucket}`;
}

export function kvSubject(bucket: string, key: string): string {
  return `$KV.${bucket}.${key}`;
}

export function modelBucket(): string {
  return BUCKETS.model;
}

export function configBucket(): string {
  return BUCKETS.config;
}

import type { DynamicDef, ModelObject, ModelReader } from '../schema.js';

const ROLES = ['BACKEND', 'DB', 'DTL', 'SCRUB', 'WRITE'] as const;
const HEARTBEAT_FAILURE_S = 300;
const HEARTBEAT_WARNING_S = 120;

/** StorageRouter.status (model.md §5.1); `nowS` is injected so the rule is testable with a fixed clock. */
export function storageRouterStatus(sr: ModelObject, reader: ModelReader, nowS: number): 'OK' | 'WARNING' | 'FAILURE' {
  const hb = (sr.heartbeats ?? {}) as { process?: number; celery?: number };
  if (nowS - (hb.process ?? 0) > HEARTBEAT_FAILURE_S) return 'FAILURE';
  const celeryDelay = nowS - (hb.celery ?? 0);
  if (celeryDelay > HEARTBEAT_FAILURE_S) return 'FAILURE';
  for (const disk of reader.reverse('storagerouter', sr.guid, 'disks')) {
    if (disk.state === 'MISSING') return 'FAILURE';
    if (reader.reverse('disk', disk.guid, 'partitions').some((p) => p.state === 'MISSING')) return 'FAILURE';
  }
  return celeryDelay > HEARTBEAT_WARNING_S ? 'WARNING' : 'OK';
}

function partitionConfig(sr: ModelObject, reader: ModelReader): Record<string, string[]> {
  const config: Record<string, string[]> = Object.fromEntries(ROLES.map((r) => [r, [] as string[]]));
  for (const disk of reader.reverse('storagerouter', sr.guid, 'disks')) {
    for (const p of reader.reverse('disk', disk.guid, 'partitions')) {
      for (const role of (p.roles as string[] | undefined) ?? []) config[role]?.push(p.guid);
    }
  }
  return config;
}

function domainGuids(sr: ModelObject, reader: ModelReader, backup: boolean): string[] {
  return reader.reverse('storagerouter', sr.guid, 'domains').filter((j) => j.backup === backup).map((j) => j.domain_guid as string);
}

export const storageRouterDynamics: Record<string, DynamicDef> = {
  status: { ttlMs: 10_000, compute: (sr, r) => storageRouterStatus(sr, r, Date.now() / 1000) },
  partition_config: { ttlMs: 3_600_000, compute: partitionConfig },
  regular_domains: { ttlMs: 60_000, compute: (sr, r) => domainGuids(sr, r, false) },
  recovery_domains: { ttlMs: 60_000, compute: (sr, r) => domainGuids(sr, r, true) },
};

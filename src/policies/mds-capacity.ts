import { compareIp, mdsLoad, preferredMds } from './mds-load.js';
import type { MdsServiceView } from './mds-safety.js';

interface Capacity {
  capacity: number;
  junctions: number;
}

/** Services an operator decommissioned (capacity 0) that no vDisk uses anymore: remove them (§4.4 step 2). */
export function servicesToRemove<T extends Capacity>(services: readonly T[]): T[] {
  return services.filter((s) => s.capacity === 0 && s.junctions === 0);
}

/**
 * Assumptions (§4.4 step 2): `services` are the MDS services of one vPool on one SR; those {@link servicesToRemove}
 * picks are gone before this counts. A service with capacity 0 that still serves vDisks is being drained.
 * Actions: the sum of next loads over n services must stay below max_load × n; the excess in whole max_loads is the
 * number of services to add. Nothing while one is being drained. Fix of the ⚠: an SR with a StorageDriver and no
 * service left gets one.
 */
export function servicesToAdd(services: readonly Capacity[], maxLoad: number, hasStorageDriver: boolean): number {
  const removed = servicesToRemove(services);
  const remaining = services.filter((s) => !removed.includes(s));
  if (remaining.length === 0) return hasStorageDriver ? 1 : 0;
  const total = remaining.reduce((sum, s) => sum + mdsLoad(s.capacity, s.junctions).next, 0);
  if (!Number.isFinite(total)) return 0;
  const excess = total - maxLoad * remaining.length;
  if (excess < 0) return 0;
  return Math.ceil(excess / maxLoad);
}

/** A StorageRouter with a StorageDriver of the vPool, as the default config set sees it. */
export interface ConfigSetStoragerouter {
  guid: string;
  ip: string;
  regularDomains: readonly string[];
  recoveryDomains: readonly string[];
}

export interface ConfigSetInput {
  vpoolSrs: readonly ConfigSetStoragerouter[];
  services: readonly MdsServiceView[];
  safety: number;
  /** Guids of offline StorageRouters: no entry for them, never in another's list. */
  offline: readonly string[];
  random?: () => number;
}

/**
 * Assumptions (§2.7 get_mds_storagedriver_config_set): each SR's entry is its own least loaded MDS service first, then
 * other SRs' preferred services, in ascending load buckets (random order inside a bucket): first those sharing one of
 * its regular domains, then those in its recovery domains, up to `safety` entries. An SR without regular domains treats
 * every SR as its domain (as the safety planner does).
 * Actions: fixes of the ⚠: an SR appears at most once per list; an SR without MDS service gets no entry and is not
 * offered to others (instead of failing the whole set).
 */
export function storagedriverConfigSet(input: ConfigSetInput): Record<string, Array<{ host: string; port: number }>> {
  const random = input.random ?? Math.random;
  const offline = new Set(input.offline);
  const online = input.vpoolSrs.filter((sr) => !offline.has(sr.guid)).sort((a, b) => compareIp(a.ip, b.ip));
  const preferred = new Map<string, { port: number; load: number }>();
  for (const sr of online) {
    const best = preferredMds(input.services.filter((s) => s.storagerouter === sr.guid));
    if (best) preferred.set(sr.guid, { port: best.service.port, load: best.load });
  }
  const members = online.filter((sr) => preferred.has(sr.guid));
  const loads = [...new Set(members.map((sr) => preferred.get(sr.guid)?.load ?? Infinity))].sort((a, b) => a - b);
  const shuffled = (list: ConfigSetStoragerouter[]): ConfigSetStoragerouter[] => {
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [list[i], list[j]] = [list[j] as ConfigSetStoragerouter, list[i] as ConfigSetStoragerouter];
    }
    return list;
  };
  const entry = (sr: ConfigSetStoragerouter): { host: string; port: number } => ({ host: sr.ip, port: preferred.get(sr.guid)?.port ?? 0 });
  const inDomains = (sr: ConfigSetStoragerouter, domains: readonly string[]): boolean => sr.regularDomains.some((d) => domains.includes(d));

  const result: Record<string, Array<{ host: string; port: number }>> = {};
  for (const sr of members) {
    const listed = new Set([sr.guid]);
    const list = [entry(sr)];
    const importances = [sr.regularDomains.length === 0 ? members : members.filter((o) => inDomains(o, sr.regularDomains)), members.filter((o) => inDomains(o, sr.recoveryDomains))];
    for (const set of importances) {
      for (const load of loads) {
        for (const other of shuffled(set.filter((o) => preferred.get(o.guid)?.load === load))) {
          if (list.length >= input.safety) break;
          if (listed.has(other.guid)) continue;
          listed.add(other.guid);
          list.push(entry(other));
        }
      }
    }
    result[sr.guid] = list;
  }
  return result;
}

import { MdsSafetyError } from '../errors/tasks.js';
import { compareMdsServices, mdsLoad } from './mds-load.js';

/** An MDS service of the vPool as the safety planner sees it. */
export interface MdsServiceView {
  id: string;
  storagerouter: string;
  ip: string;
  port: number;
  capacity: number;
  /** vDisks it serves now (master or slave). */
  junctions: number;
}

export interface SafetyStoragerouter {
  guid: string;
  ip: string;
  regularDomains: readonly string[];
  recoveryDomains: readonly string[];
  /** It runs a StorageDriver of the vPool. */
  hostsVpool: boolean;
  reachable: boolean;
}

export interface SafetyInput {
  /** The SR the vDisk runs on. */
  vdiskStoragerouter: string;
  /** Excluded SR guids. */
  excluded: readonly string[];
  storagerouters: readonly SafetyStoragerouter[];
  /** All MDS services of the vPool. */
  services: readonly MdsServiceView[];
  /** The volume's metadata backend config, master first. */
  current: ReadonlyArray<{ ip: string; port: number }>;
  /** mds_config: mds_safety, mds_maxload, mds_tlogs. */
  safety: number;
  maxLoad: number;
  tlogsThreshold: number;
  /**
   * Dry-run catch-up result (TLogs behind) of services that could be promoted; 'no_namespace' when the service does
   * not host the volume. Missing = unknown = cannot be promoted now.
   */
  tlogsBehind: Readonly<Record<string, number | 'no_namespace'>>;
}

export type SafetyPlan =
  | { change: false; reasons: []; list: MdsServiceView[] }
  | {
    change: true;
    reasons: string[];
    /** The new config in order: master first. */
    list: MdsServiceView[];
    /** Old master to drop first and re-add as slave (§4.3 Phase F step 3). */
    previousMaster: MdsServiceView | null;
    /** Recycled slave that must be caught up synchronously before it is promoted. */
    catchUpBeforeApply: MdsServiceView | null;
    /** Services that held the volume and are no longer in the list (namespace to remove). */
    dropped: MdsServiceView[];
  };

type Importance = 'primary' | 'secondary';

interface Layout {
  used: Set<string>;
  available: Set<string>;
  /** Services at or below max load by effective load; insertion order is service order. */
  buckets: Map<number, MdsServiceView[]>;
}

interface Analysis {
  input: SafetyInput;
  importance: Map<string, Importance>;
  load: Map<MdsServiceView, number>;
  layout: Record<Importance, Layout>;
  master: MdsServiceView | null;
  slaves: MdsServiceView[];
  /** Recognised entries of the current config in order (duplicates included). */
  recognised: MdsServiceView[];
  recommended: Record<Importance, number>;
  reasons: string[];
}

const endpoint = (s: { ip: string; port: number }): string => `${s.ip}:${s.port}`;

/**
 * Assumptions (spec §4.3 phases A–C): primary = SRs sharing a regular domain with the vDisk's SR (all SRs when it has
 * none), secondary = SRs whose regular domain is one of its recovery domains; both without excluded SRs and SRs
 * outside the vPool. A service in use is weighed by its current load, any other by its load with one more vDisk;
 * services above max load are never candidates.
 * Actions: validate, then list every reason the current config falls short.
 */
function analyse(input: SafetyInput): Analysis {
  const excluded = new Set(input.excluded);
  const vdiskSr = input.storagerouters.find((sr) => sr.guid === input.vdiskStoragerouter);
  const host = vdiskSr?.ip ?? input.vdiskStoragerouter;
  const fail = (reason: 'excluded' | 'not_member' | 'not_in_primary' | 'no_config', message: string): never => {
    throw new MdsSafetyError(message, { vdisk_storagerouter: input.vdiskStoragerouter, reason });
  };
  if (excluded.has(input.vdiskStoragerouter)) fail('excluded', `the vDisk's host ${host} is excluded: the vDisk cannot be made safe`);
  if (!vdiskSr) return fail('not_member', `StorageRouter ${host} is not a member of the cluster: the vDisk's MDS safety cannot be ensured`);
  const eligible = input.storagerouters.filter((sr) => sr.hostsVpool && !excluded.has(sr.guid));
  const inDomains = (sr: SafetyStoragerouter, domains: readonly string[]): boolean => sr.regularDomains.some((d) => domains.includes(d));
  const primary = vdiskSr.regularDomains.length === 0 ? eligible : eligible.filter((sr) => inDomains(sr, vdiskSr.regularDomains));
  const secondary = eligible.filter((sr) => !primary.includes(sr) && inDomains(sr, vdiskSr.recoveryDomains));
  if (!primary.includes(vdiskSr)) fail('not_in_primary', `the vDisk's host ${host} does not serve the vPool: it is not in the primary domain pool`);
  if (input.current.length === 0) fail('no_config', `the vDisk on ${host} has no MDS configuration`);

  const importance = new Map<string, Importance>([...primary.map((sr) => [sr.guid, 'primary'] as const), ...secondary.map((sr) => [sr.guid, 'secondary'] as const)]);
  const services = [...input.services].sort(compareMdsServices);
  const byEndpoint = new Map(services.map((s) => [endpoint(s), s]));
  const reasons = new Set<string>();
  const seen = new Set<string>();
  const recognised: MdsServiceView[] = [];
  let master: MdsServiceView | null = null;
  const slaves: MdsServiceView[] = [];
  input.current.forEach((entry, index) => {
    const service = byEndpoint.get(endpoint(entry));
    if (!service) {
      reasons.add(`${index === 0 ? 'master' : 'slave'} ${endpoint(entry)} cannot be used anymore`);
      return;
    }
    if (seen.has(service.storagerouter)) reasons.add('multiple copies on one node');
    seen.add(service.storagerouter);
    recognised.push(service);
    if (index === 0) master = service;
    else slaves.push(service);
  });

  const reachable = new Set(input.storagerouters.filter((sr) => sr.reachable).map((sr) => sr.guid));
  const layout: Record<Importance, Layout> = {
    primary: { used: new Set(), available: new Set(), buckets: new Map() },
    secondary: { used: new Set(), available: new Set(), buckets: new Map() },
  };
  const load = new Map<MdsServiceView, number>();
  const nodes = new Set<string>();
  for (const service of services) {
    const inUse = recognised.includes(service);
    const { current, next } = mdsLoad(service.capacity, service.junctions);
    const effective = inUse ? current : next;
    load.set(service, effective);
    const imp = importance.get(service.storagerouter);
    if (inUse && !imp) reasons.add(`service ${endpoint(service)} is outside the domains`);
    if (inUse && !reachable.has(service.storagerouter)) reasons.add(`service ${endpoint(service)} is on an unreachable node`);
    if (!imp) continue;
    const l = layout[imp];
    if (inUse) l.used.add(service.storagerouter);
    l.available.add(service.storagerouter);
    nodes.add(service.storagerouter);
    if (effective <= input.maxLoad) l.buckets.set(effective, [...(l.buckets.get(effective) ?? []), service]);
  }

  if (seen.size > input.safety) reasons.add('too much safety');
  if (seen.size < input.safety && seen.size < nodes.size) reasons.add('not enough safety');
  const m = master as MdsServiceView | null;
  if (m) {
    if ((load.get(m) ?? Infinity) > input.maxLoad) reasons.add('master overloaded');
    if (m.storagerouter !== vdiskSr.guid) reasons.add('master not local');
    if (!layout.primary.used.has(m.storagerouter)) reasons.add('master not in primary domain');
  }
  for (const slave of slaves) if ((load.get(slave) ?? Infinity) > input.maxLoad) reasons.add(`slave ${endpoint(slave)} overloaded`);
  const recPrimary = secondary.length > 0 ? Math.ceil(input.safety / 2) : input.safety;
  const recommended: Record<Importance, number> = { primary: recPrimary, secondary: input.safety - recPrimary };
  for (const imp of ['primary', 'secondary'] as const) {
    const { used, available } = layout[imp];
    if (used.size < recommended[imp] && used.size < available.size) reasons.add(`too few in ${imp}`);
    if (used.size > recommended[imp]) reasons.add(`too many in ${imp}`);
  }
  let secondarySeen = false;
  for (const slave of slaves) {
    const imp = importance.get(slave.storagerouter);
    if (imp === 'secondary') secondarySeen = true;
    if (imp === 'primary' && secondarySeen) reasons.add('wrong slave order');
  }
  return { input, importance, load, layout, master: m, slaves, recognised, recommended, reasons: [...reasons] };
}

const isReachable = (a: Analysis, sr: string): boolean => a.input.storagerouters.some((s) => s.guid === sr && s.reachable);

/**
 * Phase D (fixed ⚠): the master stays when it is local, in the primary pool and not overloaded. Otherwise the local
 * replacement is the least loaded candidate at or below max load; on equal load an existing slave wins (it needs no
 * full catch-up), then service order.
 */
function masterChoice(a: Analysis): { keep: true } | { keep: false; candidate: MdsServiceView | null } {
  const { input, master, load } = a;
  const loadOf = (s: MdsServiceView): number => load.get(s) ?? Infinity;
  if (master && master.storagerouter === input.vdiskStoragerouter && loadOf(master) <= input.maxLoad && a.layout.primary.used.has(master.storagerouter)) return { keep: true };
  let best: MdsServiceView | null = null;
  for (const service of [...load.keys()]) {
    if (service === master || service.storagerouter !== input.vdiskStoragerouter || loadOf(service) > input.maxLoad || !isReachable(a, service.storagerouter)) continue;
    const better = best === null || loadOf(service) < loadOf(best) || (loadOf(service) === loadOf(best) && a.slaves.includes(service) && !a.slaves.includes(best));
    if (better) best = service;
  }
  return { keep: false, candidate: best };
}

/** Services the handler must dry-run catch_up on before calling planSafety: the current slave on the vDisk's SR that would be promoted. */
export function promotionCandidates(input: Omit<SafetyInput, 'tlogsBehind'>): MdsServiceView[] {
  const a = analyse({ ...input, tlogsBehind: {} });
  if (a.reasons.length === 0) return [];
  const choice = masterChoice(a);
  return !choice.keep && choice.candidate && a.slaves.includes(choice.candidate) ? [choice.candidate] : [];
}

/**
 * Assumptions: see {@link analyse}; a slave is promoted only once it is fewer than `tlogsThreshold` TLogs behind.
 * Actions: phase D picks the master part (an overloaded or remote master is kept next to its local replacement
 * until that one can be promoted), phase E fills slaves by ascending load — primary up
 * to its recommended share keeping existing slaves first, then secondary up to `safety`, then primary again — never
 * two copies on one node, never on an unreachable node or above max load. Throws MdsSafetyError on phase A/B errors.
 */
export function planSafety(input: SafetyInput): SafetyPlan {
  const a = analyse(input);
  const unchanged = (): SafetyPlan => ({ change: false, reasons: [], list: a.recognised });
  if (a.reasons.length === 0) return unchanged();

  const slaves = [...a.slaves];
  let masterPart: MdsServiceView[];
  let previousMaster: MdsServiceView | null = null;
  let catchUpBeforeApply: MdsServiceView | null = null;
  const choice = masterChoice(a);
  if (choice.keep) {
    masterPart = [a.master as MdsServiceView];
  } else if (choice.candidate && slaves.includes(choice.candidate)) {
    const recycled = choice.candidate;
    slaves.splice(slaves.indexOf(recycled), 1);
    const behind = input.tlogsBehind[recycled.id];
    if (typeof behind === 'number' && behind < input.tlogsThreshold) {
      masterPart = [recycled];
      catchUpBeforeApply = recycled;
      if (a.master) {
        slaves.unshift(a.master);
        previousMaster = a.master;
      }
    } else {
      masterPart = a.master ? [a.master, recycled] : [recycled];
    }
  } else {
    masterPart = [...(a.master ? [a.master] : []), ...(choice.candidate ? [choice.candidate] : [])];
  }
  if (masterPart.length === 0) {
    const local = [...a.load.keys()].filter((s) => s.storagerouter === input.vdiskStoragerouter && isReachable(a, s.storagerouter));
    const fallback = local.sort((x, y) => (a.load.get(x) ?? Infinity) - (a.load.get(y) ?? Infinity))[0];
    if (!fallback) throw new MdsSafetyError(`the vDisk's host ${input.vdiskStoragerouter} has no MDS service to be master`, { vdisk_storagerouter: input.vdiskStoragerouter, reason: 'no_master' });
    masterPart = [fallback];
  }

  // Safety counts nodes holding a copy: a remote master next to its local replacement counts twice (the original
  // counted the pair once and added a slave that the promotion then drops again), a local pair once.
  const usedNodes = new Set(masterPart.map((s) => s.storagerouter));
  const chosen: Record<Importance, MdsServiceView[]> = { primary: [], secondary: [] };
  const add = (imp: Importance, target: number, recycle?: readonly MdsServiceView[]): void => {
    const buckets = [...a.layout[imp].buckets.entries()].sort(([x], [y]) => x - y);
    for (const [, bucket] of buckets) {
      const walk = recycle ? recycle.filter((s) => bucket.includes(s)) : bucket;
      for (const service of walk) {
        if (usedNodes.size >= target) return;
        if (usedNodes.has(service.storagerouter) || !isReachable(a, service.storagerouter)) continue;
        chosen[imp].push(service);
        usedNodes.add(service.storagerouter);
      }
    }
  };
  add('primary', a.recommended.primary, slaves);
  add('primary', a.recommended.primary);
  add('secondary', input.safety, slaves);
  add('secondary', input.safety);
  add('primary', input.safety);

  const list = [...masterPart, ...chosen.primary, ...chosen.secondary];
  const same = list.length === input.current.length && list.every((s, i) => a.recognised[i] === s);
  if (same) return unchanged();
  const dropped = a.recognised.filter((s, i) => !list.includes(s) && a.recognised.indexOf(s) === i);
  return { change: true, reasons: a.reasons, list, previousMaster: previousMaster && list.includes(previousMaster) ? previousMaster : null, catchUpBeforeApply, dropped };
}


/**
 * Pure rules of rolling updates (spec §4.6, §10): what a node's package information says, how the cluster-wide
 * views merge, in which order nodes go, and where a node's vDisks wait while it restarts.
 */

/** The one package of this project: control plane and data plane ship together as the agent. */
export const AGENT_PACKAGE = 'ovs';
/** The original's component names; both name the agent package here. */
export const COMPONENTS = ['framework', 'storagedriver'] as const;
export type Component = (typeof COMPONENTS)[number];

export type Tag = [kind: string, name: string | null];

export interface ComponentInfo {
  packages: Record<string, { installed: string; candidate: string }>;
  downtime: Tag[];
  prerequisites: Tag[];
  services_stop_start: Record<'10' | '20', string[]>;
  services_post_update: Record<'10' | '20', string[]>;
}

export type PackageInformation = Partial<Record<Component, ComponentInfo>>;

export interface NodeFacts {
  guid: string;
  name: string;
  ip: string;
  /** The agent answered its update status. */
  reachable: boolean;
  installed?: string;
  candidate?: string;
  /** It can restart itself on a release (false inside `ovs up`). */
  canRelaunch?: boolean;
}

export interface VpoolFacts {
  name: string;
  /** StorageRouters with a StorageDriver of the vPool. */
  storagerouters: readonly string[];
  /** StorageRouters owning at least one vDisk of the vPool. */
  owners: readonly string[];
}

/**
 * A node's package information: the agent component when its candidate differs from what runs. Its vDisks move
 * to other nodes during its restart, so the only downtime is for vPools whose vDisks cannot move (a single node);
 * nodes that are down, or cannot restart themselves, are prerequisites (spec §4.6 step 5: on every node's entry).
 */
export function packageInformation(node: NodeFacts, cluster: readonly NodeFacts[], vpools: readonly VpoolFacts[]): PackageInformation {
  if (!node.reachable || node.installed === undefined || node.candidate === undefined || node.installed === node.candidate) return {};
  const downtime: Tag[] = vpools.filter((v) => v.storagerouters.length === 1 && v.owners.includes(node.guid)).map((v) => ['voldrv', v.name]);
  const prerequisites: Tag[] = [
    ...cluster.filter((n) => !n.reachable).map((n): Tag => ['node_down', n.name]),
    ...cluster.filter((n) => n.reachable && n.canRelaunch === false).map((n): Tag => ['manual_restart', n.name]),
  ];
  return {
    framework: {
      packages: { [AGENT_PACKAGE]: { installed: node.installed, candidate: node.candidate } },
      downtime,
      prerequisites,
      services_stop_start: { 10: [], 20: [] },
      services_post_update: { 10: ['ovs-agent'], 20: [] },
    },
  };
}

/** The original's merge of hook results: maps recurse, lists concatenate, scalars keep the first value. */
export function mergeDeep(a: unknown, b: unknown): unknown {
  if (Array.isArray(a) && Array.isArray(b)) return [...(a as unknown[]), ...(b as unknown[])];
  if (isMap(a) && isMap(b)) {
    const out: Record<string, unknown> = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = k in out ? mergeDeep(out[k], v) : v;
    return out;
  }
  return a === undefined ? b : a;
}

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** `{ip: {component: packages}}` over the StorageRouters (spec §10.2). */
export function mergePackageInformation(nodes: ReadonlyArray<{ ip: string; package_information: PackageInformation }>): Record<string, Record<string, ComponentInfo['packages']>> {
  let merged: Record<string, PackageInformation> = {};
  for (const n of nodes) merged = mergeDeep(merged, { [n.ip]: n.package_information }) as Record<string, PackageInformation>;
  const out: Record<string, Record<string, ComponentInfo['packages']>> = {};
  for (const [ip, info] of Object.entries(merged)) {
    out[ip] = Object.fromEntries(Object.entries(info).map(([c, entry]) => [c, entry?.packages ?? {}]));
  }
  return out;
}

/** `{component: {downtime, prerequisites}}`, each list without duplicates, in first-seen order (spec §10.3). */
export function mergeDowntimeInformation(nodes: ReadonlyArray<{ package_information: PackageInformation }>): Record<string, { downtime: Tag[]; prerequisites: Tag[] }> {
  const out: Record<string, { downtime: Tag[]; prerequisites: Tag[] }> = {};
  const add = (list: Tag[], tags: readonly Tag[]): void => {
    for (const t of tags) if (!list.some((x) => x[0] === t[0] && x[1] === t[1])) list.push([t[0], t[1]]);
  };
  for (const n of nodes) {
    for (const [component, entry] of Object.entries(n.package_information)) {
      if (!entry) continue;
      const slot = (out[component] ??= { downtime: [], prerequisites: [] });
      add(slot.downtime, entry.downtime);
      add(slot.prerequisites, entry.prerequisites);
    }
  }
  return out;
}

const ipKey = (ip: string): number[] => ip.split('.').map(Number);

/** Nodes by IP (numeric per octet, as the original), the node running the update last so it hands over least. */
export function updateOrder<T extends { guid: string; ip: string }>(nodes: readonly T[], runner: string): T[] {
  const byIp = [...nodes].sort((a, b) => {
    const x = ipKey(a.ip);
    const y = ipKey(b.ip);
    for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
    return a.guid.localeCompare(b.guid);
  });
  return [...byIp.filter((n) => n.guid !== runner), ...byIp.filter((n) => n.guid === runner)];
}

export interface EvacuationInput {
  /** The node about to restart. */
  node: string;
  /** Its vDisks with their vPool. */
  vdisks: ReadonlyArray<{ guid: string; vpool: string }>;
  /** Per vPool, the other nodes that serve it and answer. */
  hosts: Readonly<Record<string, readonly string[]>>;
  /** vDisks each node owns now. */
  load: Readonly<Record<string, number>>;
}

/**
 * Where each vDisk waits while its node restarts: the least loaded other node of its vPool (ties by guid), counting
 * the vDisks already placed. A vDisk whose vPool has no other node stays (it pauses; reported as downtime).
 */
export function evacuationTargets(input: EvacuationInput): { moves: Array<{ vdisk: string; target: string }>; stays: string[] } {
  const load: Record<string, number> = { ...input.load };
  const moves: Array<{ vdisk: string; target: string }> = [];
  const stays: string[] = [];
  for (const v of [...input.vdisks].sort((a, b) => a.guid.localeCompare(b.guid))) {
    const candidates = (input.hosts[v.vpool] ?? []).filter((n) => n !== input.node);
    if (candidates.length === 0) {
      stays.push(v.guid);
      continue;
    }
    const target = [...candidates].sort((a, b) => (load[a] ?? 0) - (load[b] ?? 0) || a.localeCompare(b))[0]!;
    load[target] = (load[target] ?? 0) + 1;
    moves.push({ vdisk: v.guid, target });
  }
  return { moves, stays };
}

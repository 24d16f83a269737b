import type { DiscoveredDisk, DiscoveredPartition, Discovery, DiskState } from './discover.js';

export interface ModelDisk {
  guid: string;
  name: string;
  aliases: string[];
  state: DiskState;
  is_ssd: boolean;
  model: string | null;
  serial: string | null;
  size: number;
}

export interface ModelPartition {
  guid: string;
  disk_guid: string;
  offset: number;
  size: number;
  state: DiskState;
  aliases: string[];
  filesystem: string | null;
  mountpoint: string | null;
  roles: string[];
}

type DiskProps = Omit<ModelDisk, 'guid'>;
type PartitionProps = Omit<ModelPartition, 'guid' | 'disk_guid' | 'roles'>;

export type DiskSyncAction =
  | { op: 'update_disk'; guid: string; set: Partial<DiskProps> }
  | { op: 'delete_disk'; guid: string }
  | { op: 'create_disk'; ref: string; props: DiskProps }
  | { op: 'update_partition'; guid: string; set: Partial<PartitionProps> }
  | { op: 'delete_partition'; guid: string }
  | { op: 'create_partition'; disk: { guid: string } | { ref: string }; props: PartitionProps };

// Partitioned loop/nvme/fio devices lose their /dev/disk/by-* links, so their kernel name is the only identity left.
const NAME_FALLBACK_PREFIXES = ['fio', 'loop', 'nvme'];
const DISK_FIELDS = ['state', 'aliases', 'is_ssd', 'model', 'size', 'name', 'serial'] as const;
const PARTITION_FIELDS = ['filesystem', 'offset', 'state', 'aliases', 'mountpoint', 'size'] as const;

/**
 * Pure reconciliation of the modelled disks of one StorageRouter with a host discovery. Actions are ordered
 * deletions (partitions before their disk), then updates, then creations, so they can be applied in sequence.
 */
export function planDiskSync(
  model: { disks: ModelDisk[]; partitions: ModelPartition[] },
  discovery: Discovery,
): DiskSyncAction[] {
  const deletes: DiskSyncAction[] = [];
  const updates: DiskSyncAction[] = [];
  const creates: DiskSyncAction[] = [];

  const matches = matchDisks(model.disks, discovery);
  const claimed = new Set([...matches.values()].map((disk) => disk.name));

  for (const modelDisk of model.disks) {
    const partitions = model.partitions.filter((p) => p.disk_guid === modelDisk.guid);
    const found = matches.get(modelDisk.guid);
    if (found === undefined) {
      planVanishedDisk(modelDisk, partitions, deletes, updates);
      continue;
    }
    const diskChanges = diff(modelDisk, diskProps(found), DISK_FIELDS);
    if (diskChanges !== null) updates.push({ op: 'update_disk', guid: modelDisk.guid, set: diskChanges });

    const byOffset = partitionsByOffset(found.partitions);
    const seen = new Set<number>();
    for (const partition of partitions) {
      const current = byOffset.get(partition.offset);
      if (current === undefined) {
        planVanishedPartition(partition, deletes, updates);
        continue;
      }
      seen.add(partition.offset);
      const changes = diff(partition, current, PARTITION_FIELDS);
      if (changes !== null) updates.push({ op: 'update_partition', guid: partition.guid, set: changes });
    }
    for (const [offset, props] of byOffset) {
      if (!seen.has(offset)) creates.push({ op: 'create_partition', disk: { guid: modelDisk.guid }, props });
    }
  }

  for (const disk of discovery.disks) {
    if (claimed.has(disk.name)) continue;
    claimed.add(disk.name);
    const ref = `new-disk:${disk.name}`;
    creates.push({ op: 'create_disk', ref, props: diskProps(disk) });
    for (const props of partitionsByOffset(disk.partitions).values()) {
      creates.push({ op: 'create_partition', disk: { ref }, props });
    }
  }
  return [...deletes, ...updates, ...creates];
}

/** model disk guid → discovered disk. */
function matchDisks(disks: ModelDisk[], discovery: Discovery): Map<string, DiscoveredDisk> {
  const byName = new Map<string, DiscoveredDisk>();
  for (const disk of discovery.disks) if (!byName.has(disk.name)) byName.set(disk.name, disk);
  const unclaimed = new Set(byName.keys());
  const matches = new Map<string, DiscoveredDisk>();
  const claim = (modelDisk: ModelDisk, name: string): void => {
    const disk = byName.get(name);
    if (disk === undefined) return;
    unclaimed.delete(name);
    matches.set(modelDisk.guid, disk);
  };

  for (const modelDisk of disks) {
    for (const alias of modelDisk.aliases) {
      const real = discovery.reverse_aliases[alias];
      if (real === undefined) continue;
      const name = stripDev(real);
      if (unclaimed.has(name)) {
        claim(modelDisk, name);
        break;
      }
    }
  }
  // Name fallbacks run only after every alias match, so a name can never steal a disk that an alias identifies.
  for (const modelDisk of disks) {
    if (matches.has(modelDisk.guid) || !unclaimed.has(modelDisk.name)) continue;
    const candidate = byName.get(modelDisk.name);
    if (candidate === undefined) continue;
    if (NAME_FALLBACK_PREFIXES.some((prefix) => modelDisk.name.startsWith(prefix))) {
      claim(modelDisk, modelDisk.name);
    } else if (hasOnlyKernelAlias(modelDisk) && serialsCompatible(modelDisk, candidate)) {
      // FIX (spec §3.1 weakness): a disk known only as /dev/<kname> never appears in reverse_aliases; without this
      // fallback it was deleted and recreated on every run, or marked MISSING next to a duplicate when it had roles.
      claim(modelDisk, modelDisk.name);
    }
  }
  return matches;
}

function hasOnlyKernelAlias(disk: ModelDisk): boolean {
  return disk.aliases.length > 0 && disk.aliases.every((alias) => alias === `/dev/${disk.name}`);
}

// The kernel name alone is not an identity: refuse the match when both serials are known and differ.
function serialsCompatible(modelDisk: ModelDisk, found: DiscoveredDisk): boolean {
  return modelDisk.serial === null || found.serial === null || modelDisk.serial === found.serial;
}

function planVanishedDisk(
  disk: ModelDisk,
  partitions: ModelPartition[],
  deletes: DiskSyncAction[],
  updates: DiskSyncAction[],
): void {
  if (partitions.some((p) => p.roles.length > 0)) {
    for (const partition of partitions) {
      if (partition.state !== 'MISSING') {
        updates.push({ op: 'update_partition', guid: partition.guid, set: { state: 'MISSING' } });
      }
    }
    if (disk.state !== 'MISSING') updates.push({ op: 'update_disk', guid: disk.guid, set: { state: 'MISSING' } });
    return;
  }
  for (const partition of partitions) deletes.push({ op: 'delete_partition', guid: partition.guid });
  deletes.push({ op: 'delete_disk', guid: disk.guid });
}

function planVanishedPartition(partition: ModelPartition, deletes: DiskSyncAction[], updates: DiskSyncAction[]): void {
  if (partition.roles.length === 0) {
    deletes.push({ op: 'delete_partition', guid: partition.guid });
  } else if (partition.state !== 'MISSING') {
    updates.push({ op: 'update_partition', guid: partition.guid, set: { state: 'MISSING' } });
  }
}

// Offsets are the partition identity; a repeated offset keeps the last entry, as the original offset-keyed dict did.
function partitionsByOffset(partitions: DiscoveredPartition[]): Map<number, PartitionProps> {
  const map = new Map<number, PartitionProps>();
  for (const p of partitions) {
    map.set(p.offset, {
      offset: p.offset,
      size: p.size,
      state: p.state,
      aliases: [...p.aliases],
      filesystem: p.filesystem,
      mountpoint: p.mountpoint,
    });
  }
  return map;
}

function diskProps(disk: DiscoveredDisk): DiskProps {
  return {
    name: disk.name,
    aliases: [...disk.aliases],
    state: disk.state,
    is_ssd: disk.is_ssd,
    model: disk.model,
    serial: disk.serial,
    size: disk.size,
  };
}

function diff<T extends object, K extends keyof T>(
  current: T,
  wanted: Pick<T, K>,
  fields: readonly K[],
): Partial<Pick<T, K>> | null {
  const changes: Partial<Pick<T, K>> = {};
  let changed = false;
  for (const field of fields) {
    if (!sameValue(current[field], wanted[field])) {
      const value = wanted[field];
      changes[field] = (Array.isArray(value) ? [...value] : value) as T[K];
      changed = true;
    }
  }
  return changed ? changes : null;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => v === b[i]);
  return a === b;
}

function stripDev(path: string): string {
  return path.startsWith('/dev/') ? path.slice('/dev/'.length) : path;
}

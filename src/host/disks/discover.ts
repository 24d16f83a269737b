import { lstat, readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { hostPath, readAliasMap } from './aliases.js';
import { listBlockDevices, type LsblkEntry } from './lsblk.js';
import { partedOffset, readPartedTable, type PartedEntry } from './parted.js';
import { runCommand, type CommandRunner } from './run-command.js';

export type { CommandResult, CommandRunner } from './run-command.js';

export type DiskState = 'OK' | 'FAILURE' | 'MISSING';

export interface DiscoveredPartition {
  offset: number;
  size: number;
  state: DiskState;
  aliases: string[];
  filesystem: string | null;
  mountpoint: string | null;
}

export interface DiscoveredDisk {
  name: string;
  state: DiskState;
  aliases: string[];
  is_ssd: boolean;
  model: string | null;
  serial: string | null;
  size: number;
  partitions: DiscoveredPartition[];
}

export interface Discovery {
  disks: DiscoveredDisk[];
  /** symlink path → real device path */
  reverse_aliases: Record<string, string>;
}

export interface DiscoverOptions {
  /** Command runner (lsblk, parted, touch, rm); defaults to local execFile. */
  run?: CommandRunner;
  /** Filesystem prefix under which /dev/disk and /sys/block are read; defaults to '/'. */
  root?: string;
  /** Clock (ms since epoch) used to name the write-probe file. */
  now?: () => number;
}

const SCSI_DISK_MAJOR = '8';
const SWAP_MOUNTPOINT = '[SWAP]';

export async function discoverDisks(opts: DiscoverOptions = {}): Promise<Discovery> {
  const run = opts.run ?? runCommand;
  const root = opts.root ?? '/';
  const now = opts.now ?? Date.now;

  const aliasMap = await readAliasMap(root);
  const entries = withMountedFilesystems(await listBlockDevices(run), await readMountTypes(root));
  const parted = new Map<string, PartedEntry[]>();
  const disks: DiscoveredDisk[] = [];

  for (const entry of entries) {
    if (entry.type === 'rom') continue;
    const friendly = `/dev/${entry.kname}`;
    const aliases = [...(aliasMap.get(friendly) ?? [friendly])].sort();

    if (await isBlockDevice(root, entry.kname)) {
      const disk: DiscoveredDisk = {
        name: entry.kname,
        state: diskState(entry),
        aliases,
        is_ssd: !entry.rota,
        model: entry.model,
        serial: entry.serial,
        size: entry.size,
        partitions: [],
      };
      disks.push(disk);
      // LVM, md RAID or an unpartitioned filesystem: the device itself is mounted and acts as its own partition.
      if (entry.mountpoint !== null) {
        disk.partitions.push(await toPartition(entry, 0, disk.state, [...aliases], run, now));
      }
      continue;
    }

    const parent = await findParent(root, disks, entry.kname);
    if (parent === null) {
      throw new Error(`Failed to find the parent disk of partition ${entry.kname} under /sys/block`);
    }
    let table = parted.get(parent.disk.name);
    if (table === undefined) {
      table = await readPartedTable(run, parent.disk.name);
      parted.set(parent.disk.name, table);
    }
    const partitionNumber = await readSysInt(root, `/sys/block/${parent.disk.name}/${entry.kname}/partition`);
    // Also falls back when parted lists partitions but none matches, rather than recording a bogus offset 0.
    const offset = partedOffset(table, entry.kname, partitionNumber) ?? parent.start * entry.log_sec;
    parent.disk.partitions.push(await toPartition(entry, offset, parent.disk.state, aliases, run, now));
  }

  const reverse: Record<string, string> = {};
  for (const [real, links] of aliasMap) {
    for (const link of links) reverse[link] = real;
  }
  return { disks, reverse_aliases: reverse };
}

/** mount point → filesystem type, from /proc/mounts (empty when it cannot be read). */
async function readMountTypes(root: string): Promise<Map<string, string>> {
  const text = await readFile(hostPath(root, '/proc/mounts'), 'utf8').catch(() => '');
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [, mountpoint, fstype] = line.split(' ');
    if (mountpoint !== undefined && fstype !== undefined) types.set(unescapeMountField(mountpoint), fstype);
  }
  return types;
}

// lsblk reads FSTYPE from udev, which containers often lack; the kernel still knows what it mounted.
function withMountedFilesystems(entries: LsblkEntry[], mountTypes: Map<string, string>): LsblkEntry[] {
  return entries.map((e) => (e.fstype === null && e.mountpoint !== null && mountTypes.has(e.mountpoint) ? { ...e, fstype: mountTypes.get(e.mountpoint) ?? null } : e));
}

function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

function diskState(entry: LsblkEntry): DiskState {
  // Only SCSI disks (major 8) report a meaningful lsblk state; everything else is assumed healthy.
  return entry.state === 'running' || entry.major !== SCSI_DISK_MAJOR ? 'OK' : 'FAILURE';
}

async function isBlockDevice(root: string, kname: string): Promise<boolean> {
  const stat = await lstat(hostPath(root, `/sys/block/${kname}`)).catch(() => null);
  return stat !== null && (stat.isSymbolicLink() || stat.isDirectory());
}

async function findParent(
  root: string,
  disks: DiscoveredDisk[],
  kname: string,
): Promise<{ disk: DiscoveredDisk; start: number } | null> {
  for (let i = disks.length - 1; i >= 0; i--) {
    const disk = disks[i];
    if (disk === undefined) continue;
    const start = await readSysInt(root, `/sys/block/${disk.name}/${kname}/start`);
    if (start !== null) return { disk, start };
  }
  return null;
}

async function readSysInt(root: string, virtualPath: string): Promise<number | null> {
  try {
    const text = (await readFile(hostPath(root, virtualPath), 'utf8')).trim();
    return /^\d+$/.test(text) ? Number.parseInt(text, 10) : null;
  } catch {
    return null;
  }
}

async function toPartition(
  entry: LsblkEntry,
  offset: number,
  parentState: DiskState,
  aliases: string[],
  run: CommandRunner,
  now: () => number,
): Promise<DiscoveredPartition> {
  const mountpoint = entry.mountpoint;
  let state: DiskState = parentState === 'OK' ? 'OK' : 'FAILURE';
  const needsWriteCheck = mountpoint !== null && mountpoint !== SWAP_MOUNTPOINT && entry.fstype !== 'swap';
  if (needsWriteCheck && !(await mountpointWritable(mountpoint, run, now))) state = 'FAILURE';
  return { offset, size: entry.size, state, aliases, filesystem: entry.fstype, mountpoint };
}

async function mountpointWritable(mountpoint: string, run: CommandRunner, now: () => number): Promise<boolean> {
  const probe = posix.join(mountpoint, String(now() / 1000));
  if ((await run('touch', [probe])).code !== 0) return false;
  return (await run('rm', [probe])).code === 0;
}

import type { DiskConfigurationReason } from '../errors/disks.js';

/** One partition as configure_disk sees it. */
export interface RolePartition {
  guid: string;
  disk_guid: string;
  roles: readonly string[];
  filesystem: string | null;
  mountpoint: string | null;
}

export interface DiskRoleRequest {
  storagerouter_guid: string;
  disk_guid: string;
  /** null: create a partition on the disk. */
  partition_guid: string | null;
  roles: readonly string[];
}

export interface DiskRoleFacts {
  /** The StorageRouter the disk belongs to. */
  diskStoragerouter: string;
  /** Every partition of the StorageRouter, on every disk (for the one-disk-per-role rule and the disk's own use). */
  partitions: readonly RolePartition[];
  /** The roles of the addressed partition that something uses (StorageDriverPartitions, DB under metadata services). */
  rolesInUse: ReadonlySet<string>;
}

export type DiskRoleDecision =
  | { kind: 'set_roles'; partition_guid: string; roles: string[] }
  | { kind: 'refuse'; reason: DiskConfigurationReason; message: string; roles?: string[] };

export const ASSIGNABLE_ROLES = ['DB', 'DTL', 'SCRUB', 'WRITE'] as const;
/** Roles a StorageRouter may have on one disk only. */
const SINGLE_DISK_ROLES = ['DB', 'DTL'];
/** Filesystems that belong to something else (swap, a RAID or LVM member): never given roles. */
const FOREIGN_FILESYSTEMS = ['swap', 'linux_raid_member', 'LVM2_member'];

/**
 * Spec §9.11 without formatting or mounting: an existing partition only changes roles, and only when it is a mounted
 * filesystem of this StorageRouter's disk; a new partition is refused (creation needs an unused disk and is not
 * done here). Roles are replaced as given, duplicates dropped.
 */
export function decideDiskRoles(req: DiskRoleRequest, facts: DiskRoleFacts): DiskRoleDecision {
  const roles = [...new Set(req.roles)];
  const refuse = (reason: DiskConfigurationReason, message: string, extra: string[] | undefined = undefined): DiskRoleDecision =>
    extra === undefined ? { kind: 'refuse', reason, message } : { kind: 'refuse', reason, message, roles: extra };

  const invalid = roles.filter((r) => !(ASSIGNABLE_ROLES as readonly string[]).includes(r));
  if (invalid.length > 0) return refuse('invalid_role', `Invalid role specified: ${invalid.join(', ')}`, invalid);
  if (facts.diskStoragerouter !== req.storagerouter_guid) {
    return refuse('disk_not_on_storagerouter', `Disk ${req.disk_guid} does not belong to StorageRouter ${req.storagerouter_guid}`);
  }
  const onDisk = facts.partitions.filter((p) => p.disk_guid === req.disk_guid);
  if (onDisk.some((p) => p.roles.includes('BACKEND'))) return refuse('disk_used_by_backend', 'The given Disk is in use by a Backend');
  for (const role of roles.filter((r) => SINGLE_DISK_ROLES.includes(r))) {
    const elsewhere = facts.partitions.find((p) => p.disk_guid !== req.disk_guid && p.roles.includes(role));
    if (elsewhere !== undefined) {
      return refuse('role_duplication', `Role ${role} is already on disk ${elsewhere.disk_guid} of this StorageRouter (one disk per StorageRouter)`, [role]);
    }
  }

  if (req.partition_guid === null) {
    // A filesystem on the whole disk (mounted, no partition table) is modelled as its partition at offset 0.
    if (onDisk.length > 0) {
      return refuse('disk_in_use', `Disk ${req.disk_guid} already has partitions; give the partition_guid of one of them`);
    }
    return refuse('partition_creation_unsupported', `Creating a partition on disk ${req.disk_guid} is not supported; partition it on the host and give its partition_guid`);
  }

  const partition = onDisk.find((p) => p.guid === req.partition_guid);
  if (partition === undefined) return refuse('partition_not_on_disk', `Partition ${req.partition_guid} is not on disk ${req.disk_guid}`);
  if (partition.filesystem !== null && FOREIGN_FILESYSTEMS.includes(partition.filesystem)) {
    return refuse('unsupported_filesystem', `Partition ${partition.guid} holds ${partition.filesystem}, which cannot get roles`);
  }
  if (partition.mountpoint === null) {
    return refuse('not_mounted', `Partition ${partition.guid} is not mounted; mount its filesystem first (configure_disk never formats)`);
  }
  const removedInUse = partition.roles.filter((r) => !roles.includes(r) && facts.rolesInUse.has(r));
  if (removedInUse.length > 0) {
    return refuse('roles_in_use', `Roles in use cannot be removed. Used roles: ${removedInUse.join(', ')}`, removedInUse);
  }
  return { kind: 'set_roles', partition_guid: partition.guid, roles };
}

import { existsSync } from 'node:fs';
import { posix } from 'node:path';
import { runCommand, type CommandRunner } from '../../host/disks/run-command.js';
import { DISKPARTITION, STORAGEDRIVERPARTITION } from '../../model/types.js';
import type { ModelObject, ModelReader } from '../../model/schema.js';

/** One StorageDriverPartition on a partition: its role and where its data lives on the host. */
export interface PartitionClaim {
  guid: string;
  role: string;
  size: number;
  path: string;
}

/** The partition's folder as the original's dynamic: the root filesystem is used through /mnt/storage. */
export function partitionFolder(partition: ModelObject, reader: ModelReader): string | null {
  const folder = DISKPARTITION.dynamics?.folder?.compute(partition, reader);
  return typeof folder === 'string' ? folder : null;
}

/** Every StorageDriverPartition on the partition, with its claimed size (0 if none) and path. */
export function partitionClaims(reader: ModelReader, partition: ModelObject): PartitionClaim[] {
  const folder = partitionFolder(partition, reader) ?? '/';
  return reader.reverse('diskpartition', partition.guid, 'storagedrivers').map((sdp) => ({
    guid: sdp.guid,
    role: String(sdp.role),
    size: typeof sdp.size === 'number' ? sdp.size : 0,
    path: posix.join(folder, String(STORAGEDRIVERPARTITION.dynamics?.folder?.compute(sdp, reader))),
  }));
}

/** DB is in use on a StorageRouter that hosts an MDS or an internal Arakoon other than the model's own. */
export function hostsMetadataServices(reader: ModelReader, srGuid: string): boolean {
  return reader.reverse('storagerouter', srGuid, 'services').some((s) => {
    const type = reader.find('servicetype', s.type_guid as string)?.name;
    return type === 'MetadataServer' || (type === 'Arakoon' && s.name !== 'arakoon-ovsdb');
  });
}

/** The partition's roles that something uses: a StorageDriverPartition with that role, or DB under metadata services. */
export function rolesInUse(reader: ModelReader, srGuid: string, partition: ModelObject): Set<string> {
  const used = new Set(partitionClaims(reader, partition).map((c) => c.role));
  const roles = (partition.roles as string[] | undefined) ?? [];
  if (roles.includes('DB') && hostsMetadataServices(reader, srGuid)) used.add('DB');
  return used;
}

const DU_TIMEOUT_ARGS = ['5', 'du', '-B', '1', '-d', '0'];

/** Bytes under the claims' existing paths (`du`, 5 s each); a path du cannot measure counts 0. */
export async function bytesUsedBy(claims: PartitionClaim[], run: CommandRunner = runCommand): Promise<number> {
  let used = 0;
  for (const claim of claims) {
    if (!existsSync(claim.path)) continue;
    const result = await run('timeout', [...DU_TIMEOUT_ARGS, claim.path]);
    const bytes = /^(\d+)/.exec(result.stdout.trim())?.[1];
    if (result.code === 0 && bytes !== undefined) used += Number.parseInt(bytes, 10);
  }
  return used;
}

import { statfs } from 'node:fs/promises';
import { z } from 'zod';
import { defineTask } from '../define.js';
import { guid } from '../params.js';
import { hostIpAddresses } from '../../host/ip-addresses.js';
import { ROLES } from '../../model/types.js';
import type { ModelObject, ModelReader } from '../../model/schema.js';
import { bytesUsedBy, partitionClaims, partitionFolder, rolesInUse } from './partition-usage.js';

const GIB = 1024 ** 3;

interface PartitionEntry {
  ssd: boolean;
  guid: string;
  size: number;
  in_use: boolean;
  usable: boolean;
  available: number;
  /** Σ size of the StorageDriverPartitions on the partition, and the bytes their paths hold. */
  claimed: number;
  used: number;
  mountpoint: string | null;
  storagerouter_guid: string;
}

async function availableBytes(mountpoint: string | null): Promise<number> {
  if (!mountpoint) return 0;
  try {
    const s = await statfs(mountpoint);
    return s.bavail * s.bsize;
  } catch {
    return 0;
  }
}

/** Role → partition entries of one StorageRouter (the original's get_partition_info). */
async function partitionInfo(reader: ModelReader, sr: ModelObject): Promise<Record<string, PartitionEntry[]>> {
  const out: Record<string, PartitionEntry[]> = Object.fromEntries(ROLES.map((r) => [r, [] as PartitionEntry[]]));
  for (const disk of reader.reverse('storagerouter', sr.guid, 'disks')) {
    for (const p of reader.reverse('disk', disk.guid, 'partitions')) {
      const roles = (p.roles as string[]) ?? [];
      if (roles.length === 0) continue;
      const mountpoint = (p.mountpoint as string | null) ?? null;
      const claims = partitionClaims(reader, p);
      const claimed = claims.reduce((n, c) => n + c.size, 0);
      const used = await bytesUsedBy(claims);
      const inUse = rolesInUse(reader, sr.guid, p);
      const avail = await availableBytes(mountpoint);
      const size = (p.size as number) ?? 0;
      const available = Math.max(0, avail > 0 ? avail + used - claimed : size - claimed);
      for (const role of roles) {
        out[role]?.push({
          ssd: Boolean(disk.is_ssd),
          guid: p.guid,
          size,
          in_use: inUse.has(role),
          usable: true,
          available,
          claimed,
          used,
          mountpoint: partitionFolder(p, reader),
          storagerouter_guid: sr.guid,
        });
      }
    }
  }
  const write = out.WRITE ?? [];
  const largest = Math.max(0, ...write.map((w) => w.available));
  for (const w of write) if (w.available < 0.05 * largest || w.available < GIB) w.usable = false;
  return out;
}

export const getMetadata = defineTask({
  module: 'storagerouter',
  name: 'get_metadata',
  summary: 'Physical information about a StorageRouter: partitions per role, IP addresses, scrub availability',
  params: z.object({ storagerouter_guid: guid }).strict(),
  owner: { kind: 'node', param: 'storagerouter_guid' },
  async handler({ storagerouter_guid }, { services }) {
    const { view } = services;
    const sr = view.get('storagerouter', storagerouter_guid);
    const scrubAvailable = view.list('diskpartition').some((p) => ((p.roles as string[]) ?? []).includes('SCRUB'));
    return {
      partitions: await partitionInfo(view, sr),
      ipaddresses: hostIpAddresses(),
      scrub_available: scrubAvailable,
    };
  },
});

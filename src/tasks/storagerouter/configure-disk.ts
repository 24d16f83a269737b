import { z } from 'zod';
import { DiskConfigurationError } from '../../errors.js';
import type { ModelReader } from '../../model/schema.js';
import { decideDiskRoles, type RolePartition } from '../../policies/disk-roles.js';
import { defineTask } from '../define.js';
import { guid, nonNegativeInt } from '../params.js';
import { partitionRoles } from '../shapes.js';
import { rolesInUse } from './partition-usage.js';

function partitionsOf(reader: ModelReader, srGuid: string): RolePartition[] {
  return reader.reverse('storagerouter', srGuid, 'disks').flatMap((disk) =>
    reader.reverse('disk', disk.guid, 'partitions').map((p) => ({
      guid: p.guid,
      disk_guid: disk.guid,
      roles: (p.roles as string[] | undefined) ?? [],
      filesystem: (p.filesystem as string | null | undefined) ?? null,
      mountpoint: (p.mountpoint as string | null | undefined) ?? null,
    })),
  );
}

export const configureDisk = defineTask({
  module: 'storagerouter',
  name: 'configure_disk',
  summary: 'Configures a partition',
  params: z
    .object({
      storagerouter_guid: guid,
      disk_guid: guid,
      partition_guid: guid.nullable(),
      offset: nonNegativeInt,
      size: nonNegativeInt,
      roles: partitionRoles,
    })
    .strict(),
  owner: { kind: 'node', param: 'storagerouter_guid' },
  // All disk configurations of a StorageRouter in one FIFO, waiting at most 30 minutes for their turn.
  ensureSingle: { mode: 'CHAINED', startTimeoutMs: 1_800_000 },
  async handler(p, { services, log }) {
    const { view, store } = services;
    view.get('storagerouter', p.storagerouter_guid);
    const disk = view.get('disk', p.disk_guid);
    const partition = p.partition_guid === null ? undefined : view.find('diskpartition', p.partition_guid);
    const decision = decideDiskRoles(p, {
      diskStoragerouter: String(disk.storagerouter_guid),
      partitions: partitionsOf(view, p.storagerouter_guid),
      rolesInUse: partition === undefined ? new Set() : rolesInUse(view, p.storagerouter_guid, partition),
    });
    if (decision.kind === 'refuse') {
      throw new DiskConfigurationError(decision.message, {
        reason: decision.reason,
        storagerouter_guid: p.storagerouter_guid,
        disk_guid: p.disk_guid,
        partition_guid: p.partition_guid,
        ...(decision.roles === undefined ? {} : { roles: decision.roles }),
      });
    }
    await store.update('diskpartition', decision.partition_guid, (d) => {
      d.roles = decision.roles;
    });
    log.info({ partition_guid: decision.partition_guid, roles: decision.roles }, 'partition roles configured');
    return null;
  },
});

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { defineTask } from '../define.js';
import { guid } from '../params.js';

/** Any InfiniBand port in state ACTIVE makes the host RDMA capable. */
async function hasActiveInfinibandPort(root: string): Promise<boolean> {
  const devices = await readdir(root).catch(() => [] as string[]);
  for (const dev of devices) {
    const ports = await readdir(join(root, dev, 'ports')).catch(() => [] as string[]);
    for (const port of ports) {
      const state = await readFile(join(root, dev, 'ports', port, 'state'), 'utf8').catch(() => '');
      if (state.includes('ACTIVE')) return true;
    }
  }
  return false;
}

export const refreshHardware = defineTask({
  module: 'storagerouter',
  name: 'refresh_hardware',
  summary: 'Refresh the hardware facts of a StorageRouter (RDMA capability, disks and partitions)',
  params: z.object({ storagerouter_guid: guid }).strict(),
  owner: { kind: 'node', param: 'storagerouter_guid' },
  async handler({ storagerouter_guid }, { services, deadline }) {
    const rdma = await hasActiveInfinibandPort(services.paths.infinibandRoot);
    await services.store.update('storagerouter', storagerouter_guid, (sr) => {
      sr.rdma_capable = rdma;
    });
    await services.call('disk.sync_with_reality', { storagerouter_guid }, deadline);
    return null;
  },
});

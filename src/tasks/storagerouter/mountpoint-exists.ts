import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { defineTask } from '../define.js';
import { guid, pathSafeName } from '../params.js';

export const mountpointExists = defineTask({
  module: 'storagerouter',
  name: 'mountpoint_exists',
  summary: 'Whether the mount point of a vPool name is in use on a StorageRouter (true = exists)',
  // The original passed `name` straight into a path; here it is one path component or a typed error.
  params: z.object({ name: pathSafeName, storagerouter_guid: guid }).strict(),
  owner: { kind: 'node', param: 'storagerouter_guid' },
  async handler({ name }, { services }) {
    try {
      return (await stat(join(services.paths.mountRoot, name))).isDirectory();
    } catch {
      return false;
    }
  },
});

import { z } from 'zod';
import { refreshPackageInformation as refresh } from '../../update/package-facts.js';
import { defineTask } from '../define.js';

export const refreshPackageInformation = defineTask({
  module: 'generic',
  name: 'refresh_package_information',
  summary: 'Retrieve and store the package information of all StorageRouters',
  params: z.object({}).strict(),
  owner: { kind: 'cluster' },
  ensureSingle: { mode: 'DEFAULT' },
  handler: async (_p, { services }) => refresh(services),
});

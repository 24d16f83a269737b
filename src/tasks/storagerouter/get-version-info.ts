import { z } from 'zod';
import { defineTask } from '../define.js';
import { guid } from '../params.js';
import { installedNatsServerVersion, ownVersion } from '../../host/versions.js';

export const getVersionInfo = defineTask({
  module: 'storagerouter',
  name: 'get_version_info',
  summary: 'Versions of the packages on a StorageRouter',
  params: z.object({ storagerouter_guid: guid }).strict(),
  owner: { kind: 'node', param: 'storagerouter_guid' },
  async handler({ storagerouter_guid }, { services }) {
    const versions: Record<string, string> = { ovs: ownVersion(), node: process.versions.node };
    const installed = await installedNatsServerVersion();
    if (installed) versions['nats-server'] = installed;
    return { storagerouter_guid, versions, connected_nats_server: services.nc.info?.version ?? null };
  },
});

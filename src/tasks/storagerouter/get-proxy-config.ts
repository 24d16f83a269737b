import { z } from 'zod';
import { backendConnection, storagedriverOn } from '../../bundles/backend-connection.js';
import { defineTask } from '../define.js';
import { guid } from '../params.js';

export const getProxyConfig = defineTask({
  module: 'storagerouter',
  name: 'get_proxy_config',
  summary: 'Gets the ALBA proxy for a given StorageRouter and vPool',
  params: z.object({ storagerouter_guid: guid, vpool_guid: guid }).strict(),
  owner: { kind: 'any' },
  // No ALBA proxy sits between a StorageDriver and its backend here: the answer is the backend connection of the
  // vPool's StorageDriver on that node, credentials redacted.
  async handler({ storagerouter_guid, vpool_guid }, { services }) {
    const vpool = services.view.get('vpool', vpool_guid);
    const sr = services.view.get('storagerouter', storagerouter_guid);
    return backendConnection(services.view, services.nc, vpool, storagedriverOn(services.view, vpool, sr));
  },
});

import { z } from 'zod';
import { backendConnection, natsServersOf } from '../../bundles/backend-connection.js';
import { downloadsDirOf, publishDownload, pruneDownloads } from '../../bundles/downloads.js';
import { hprmParameters, hprmZipName, writeHprmZip } from '../../bundles/hprm.js';
import { VpoolError } from '../../errors.js';
import { defineTask } from '../define.js';
import { guid } from '../params.js';

/** HPRM zips kept per node (one per identifier and vPool; a repeated call replaces its own). */
export const KEEP_HPRM_ZIPS = 20;

export const createHprmConfigFiles = defineTask({
  module: 'storagerouter',
  name: 'create_hprm_config_files',
  summary: 'Create the required configuration files to be able to make use of HPRM (aka PRACC)',
  params: z.object({ vpool_guid: guid, local_storagerouter_guid: guid, parameters: hprmParameters }).strict(),
  // Written on the node the caller names, into its downloads directory (served at /downloads/<name>).
  owner: { kind: 'node', param: 'local_storagerouter_guid' },
  async handler({ vpool_guid, local_storagerouter_guid, parameters }, { services, log }) {
    const vpool = services.view.get('vpool', vpool_guid);
    const sds = services.view.list('storagedriver', { vpool_guid });
    // The original takes the last StorageDriver's proxy; here this node's when it serves the vPool, else the last.
    const sd = sds.find((d) => d.storagerouter_guid === local_storagerouter_guid) ?? sds[sds.length - 1];
    if (!sd) throw new VpoolError(`vPool ${String(vpool.name)} has no StorageDrivers`, { vpool_guid });
    const context = {
      vpool: { guid: vpool.guid, name: String(vpool.name) },
      backend: backendConnection(services.view, services.nc, vpool, sd),
      natsServers: natsServersOf(services.nc),
      geometry: ((vpool.metadata as Record<string, unknown> | undefined)?.configuration ?? {}) as Record<string, unknown>,
    };
    const name = hprmZipName(parameters.identifier, String(vpool.name));
    const dir = downloadsDirOf(services.dataDir);
    const path = await publishDownload(dir, name, (tmp) => writeHprmZip(tmp, parameters, context, new Date()));
    const pruned = await pruneDownloads(dir, (n) => n.startsWith('hprm_config_files_'), KEEP_HPRM_ZIPS);
    log.info({ file: path, url_path: `/downloads/${name}`, pruned }, 'HPRM configuration files written');
    return name;
  },
});

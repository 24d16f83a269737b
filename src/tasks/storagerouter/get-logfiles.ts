import { z } from 'zod';
import { createLogBundle } from '../../bundles/log-bundle.js';
import { defineTask } from '../define.js';
import { guid } from '../params.js';

export const getLogfiles = defineTask({
  module: 'storagerouter',
  name: 'get_logfiles',
  summary: "Collects logs, moves them to a web-accessible location and returns log tgz's filename",
  params: z.object({ local_storagerouter_guid: guid }).strict(),
  // Runs on that node: its logs, its journal, its downloads directory (served at /downloads/<name> on its HTTP port).
  owner: { kind: 'node', param: 'local_storagerouter_guid' },
  async handler(_params, { services, log }) {
    const bundle = await createLogBundle(services, new Date());
    log.info({ file: bundle.path, logs: bundle.logs, journal: bundle.journal, pruned: bundle.pruned, url_path: `/downloads/${bundle.name}` }, 'support bundle written');
    return bundle.name;
  },
});

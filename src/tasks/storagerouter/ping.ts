import { z } from 'zod';
import { defineTask } from '../define.js';
import { guid, timestamp } from '../params.js';

export const ping = defineTask({
  module: 'storagerouter',
  name: 'ping',
  summary: "Update a StorageRouter's task-queue heartbeat (runs on that StorageRouter, proving it consumes its work)",
  params: z.object({ storagerouter_guid: guid, timestamp }).strict(),
  owner: { kind: 'node', param: 'storagerouter_guid' },
  async handler({ storagerouter_guid, timestamp: ts }, { services }) {
    await services.store.update('storagerouter', storagerouter_guid, (sr) => {
      const hb = (sr.heartbeats ?? {}) as Record<string, number>;
      if (ts > (hb.celery ?? 0)) sr.heartbeats = { ...hb, celery: ts };
    });
    return null;
  },
});

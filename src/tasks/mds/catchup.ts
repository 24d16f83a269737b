import { z } from 'zod';
import { MdsError, asOvsError } from '../../errors.js';
import { mdsClient } from '../../mds/client.js';
import { mdsAddress } from '../../storagedriver/mds-model.js';
import { defineTask } from '../define.js';

/** Slaves at least this many TLogs behind are caught up (`/ovs/volumedriver/mds|tlogs_behind`, §4.7). */
export const CATCHUP_THRESHOLD_KEY = '/ovs/volumedriver/mds/tlogs_behind';

export interface CatchUpReport {
  vdisk_guid: string;
  service: string;
  tlogs_behind: number;
  caught_up: boolean;
}

export const mdsCatchup = defineTask({
  module: 'mds',
  name: 'mds_catchup',
  summary: 'Looks to catch up all MDS slaves which are too far behind',
  params: z.object({}).strict(),
  owner: { kind: 'cluster' },
  ensureSingle: { mode: 'DEFAULT' },
  async handler(_p, { services: s, log, progress }) {
    const threshold = Number((await s.config.get<number>(CATCHUP_THRESHOLD_KEY).catch(() => undefined)) ?? 100);
    // One queue per owning StorageDriver, run one after the other inside, in parallel across them (§4.6).
    const queues = new Map<string, string[]>();
    for (const vd of s.view.list('vdisk')) {
      const key = typeof vd.storagedriver_guid === 'string' ? vd.storagedriver_guid : 'none';
      queues.set(key, [...(queues.get(key) ?? []), vd.guid]);
    }
    const total = [...queues.values()].reduce((n, q) => n + q.length, 0);
    let done = 0;
    const reports: CatchUpReport[] = [];
    const errors: string[] = [];
    await Promise.all([...queues.values()].map(async (queue) => {
      for (const vdiskGuid of queue) {
        const vd = s.view.find('vdisk', vdiskGuid);
        if (!vd) continue;
        for (const j of s.view.list('mdsservicevdisk', { vdisk_guid: vdiskGuid })) {
          if (j.is_master === true) continue;
          const mds = s.view.find('mdsservice', String(j.mds_service_guid));
          const address = mds ? mdsAddress(s.view, mds) : undefined;
          if (!address) continue;
          const c = mdsClient(address, s.nc);
          try {
            const behind = (await c.catch_up(String(vd.volume_id), true)).tlogs;
            const due = behind >= threshold;
            if (due) await c.catch_up(String(vd.volume_id), false);
            reports.push({ vdisk_guid: vdiskGuid, service: address, tlogs_behind: behind, caught_up: due });
          } catch (e) {
            errors.push(`${String(vd.name)} (${vdiskGuid}) on ${address}: ${asOvsError(e).message}`);
            log.warn({ err: e, vdisk_guid: vdiskGuid, mds: address }, 'MDS catch-up failed');
          }
        }
        progress(++done / Math.max(1, total), `${done} of ${total} vDisks`);
      }
    }));
    if (errors.length > 0) throw new MdsError(`MDS catch-up failed for:\n- ${errors.join('\n- ')}`, {});
    return { threshold, slaves: reports };
  },
});

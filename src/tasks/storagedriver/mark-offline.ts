import type { Logger } from 'pino';
import { z } from 'zod';
import type { AgentServices } from '../../agent-services.js';
import { asOvsError } from '../../errors.js';
import type { ModelObject } from '../../model/schema.js';
import { placeFailover } from '../../policies/failover-placement.js';
import { encode } from '../../protocol/codec.js';
import { eventSubject } from '../../protocol/subjects.js';
import { defineTask } from '../define.js';
import { guid } from '../params.js';
import { vdiskCheckupAfter } from '../vdisk/checkup-after.js';
import { recordOwner } from '../vdisk/move.js';
import { UsableStorageDrivers } from '../usable-storagedrivers.js';

/** Runs `fn` on the first StorageDriver that answers; a StorageDriver of a node that is down too is skipped. */
async function onFirstAnswering<T>(sds: readonly ModelObject[], fn: (sd: ModelObject) => Promise<T>): Promise<T> {
  let last: unknown = new Error('no other StorageDriver in the vPool');
  for (const sd of sds) {
    try {
      return await fn(sd);
    } catch (e) {
      last = e;
    }
  }
  throw asOvsError(last);
}

/** Declares the StorageDrivers of a StorageRouter OFFLINE in their vPools' cluster registries, through another node. */
async function declareOffline(s: AgentServices, dead: readonly ModelObject[], others: (vpool: string) => ModelObject[], log: Logger): Promise<void> {
  for (const sd of dead) {
    const live = others(String(sd.vpool_guid));
    // A vPool only the dead node serves has nobody to record it, nor anywhere to fail over to: the others still go.
    if (live.length === 0) continue;
    await onFirstAnswering(live, (x) => s.voldrv(x.guid).set_node_state({ node_id: String(sd.storagedriver_id), state: 'OFFLINE' })).catch((err: unknown) => {
      log.error({ err, storagedriver: sd.storagedriver_id }, 'no other node of the vPool recorded the StorageDriver OFFLINE');
    });
  }
}

export const markOffline = defineTask({
  module: 'storagedriver',
  name: 'mark_offline',
  summary: 'Marks all StorageDrivers on this StorageRouter offline',
  params: z.object({ storagerouter_guid: guid }).strict(),
  // Not routed to the StorageRouter: it is used for nodes that are down.
  owner: { kind: 'cluster' },
  ensureSingle: { mode: 'DEDUPED' },
  async handler({ storagerouter_guid }, { services: s, log, progress }) {
    s.view.get('storagerouter', storagerouter_guid);
    const dead = s.view.list('storagedriver', { storagerouter_guid });
    const others = (vpool: string): ModelObject[] => s.view.list('storagedriver', { vpool_guid: vpool }).filter((sd) => sd.storagerouter_guid !== storagerouter_guid);
    await declareOffline(s, dead, others, log);
    const deadGuids = new Set(dead.map((sd) => sd.guid));
    const orphans = s.view.list('vdisk').filter((v) => deadGuids.has(String(v.storagedriver_guid)));
    // Only StorageDrivers whose agent answers and that are not OFFLINE themselves (two nodes may die together).
    const vpools = [...new Set(dead.map((sd) => String(sd.vpool_guid)))];
    const usable = new UsableStorageDrivers(s);
    for (const vpool of vpools) {
      const live = others(vpool);
      if (live.length > 0) await usable.probeVpool(vpool, live[0]!.guid);
    }
    const candidates = vpools.flatMap(others).filter((sd) => usable.isUsable(String(sd.vpool_guid), String(sd.storagerouter_guid))).map((sd) => ({
      storagedriver: sd.guid, vpool: String(sd.vpool_guid), vdisks: s.view.list('vdisk', { storagedriver_guid: sd.guid }).length,
    }));
    const { placed, unplaced } = placeFailover(orphans.map((v) => ({ vdisk: v.guid, vpool: String(v.vpool_guid) })), candidates);
    const failedOver: Record<string, string> = {};
    const failures: Record<string, string> = {};
    const unplacedReasons: Record<string, string> = {};
    for (const v of unplaced) unplacedReasons[v] = 'no other StorageDriver of its vPool is online';
    let done = 0;
    for (const [vdiskGuid, sdGuid] of placed) {
      progress(done++ / placed.size, `vDisk ${done} of ${placed.size}`);
      const vdisk = s.view.get('vdisk', vdiskGuid);
      try {
        const target = s.voldrv(sdGuid);
        // Through the target itself too: its copy of the registry then knows the old owner is OFFLINE before it steals.
        const old = s.view.get('storagedriver', String(vdisk.storagedriver_guid));
        await target.set_node_state({ node_id: String(old.storagedriver_id), state: 'OFFLINE' });
        const r = await target.steal_volume({ volume_id: String(vdisk.volume_id) });
        await recordOwner(s, vdiskGuid, sdGuid);
        failedOver[vdiskGuid] = String(s.view.get('storagedriver', sdGuid).storagerouter_guid);
        // Without its DTL, what the failed owner held locally and had not uploaded is gone; say up to where the backend had it.
        const fields = { vdisk_guid: vdiskGuid, name: vdisk.name, to: failedOver[vdiskGuid], backend_up_to_tlog: r.restarted_from_tlog, dtl_replay: r.dtl_replay, metadata: r.metadata };
        if (r.dtl_replay?.status === 'replayed') log.info(fields, 'vDisk restarted on another node from the backend plus its DTL');
        else log.warn(fields, 'vDisk restarted from the backend on another node without a DTL replay; writes its failed owner had not uploaded are not in it');
        s.nc.publish(eventSubject('vdisk', 'failover'), encode({ vdisk_guid: vdiskGuid, from: storagerouter_guid, to: failedOver[vdiskGuid], backend_up_to_tlog: r.restarted_from_tlog, dtl_replay: r.dtl_replay, metadata: r.metadata }));
        // Its DTL may have been on the dead node, or on the node it now runs on; the next vDisk need not wait for that.
        await vdiskCheckupAfter(s, log, vdiskGuid, 'async');
      } catch (e) {
        failures[vdiskGuid] = asOvsError(e).message;
        log.error({ err: e, vdisk_guid: vdiskGuid }, 'vDisk could not be failed over');
      }
    }
    return { storagedrivers: dead.map((sd) => sd.guid), failed_over: failedOver, failures, unplaced: unplacedReasons };
  },
});

import { z } from 'zod';
import type { AgentServices } from '../../agent-services.js';
import { asOvsError } from '../../errors.js';
import type { NodeState } from '../../dataplane/driver/registry.js';
import type { ModelObject } from '../../model/schema.js';
import { defineTask } from '../define.js';
import { answeringStorageDrivers } from './answering.js';
import { removeClusterNodes } from './registry-nodes.js';

/** What the checkup found and did for one vPool; `changes`, `success` and `error` are the original's keys. */
export interface RegistryCheckup {
  changes: boolean;
  success: boolean;
  error?: string;
  /** node id → state written for a StorageDriver the registry did not list. */
  added: Record<string, NodeState>;
  /** StorageDrivers listed OFFLINE whose volume driver answers: set ONLINE. */
  set_online: string[];
  /** Nodes the model no longer holds, removed from the registry. */
  removed: string[];
  /** Nodes the model no longer holds that volumes are still registered to (node id → volume ids): kept. */
  stale_kept: Record<string, string[]>;
  /** StorageDrivers (guids) whose volume driver did not answer; an entry they already have is left to the failure detector. */
  not_answering: string[];
}

const emptyCheckup = (): RegistryCheckup => ({ changes: false, success: true, added: {}, set_online: [], removed: [], stale_kept: {}, not_answering: [] });

async function checkVpool(s: AgentServices, vpoolGuid: string, r: RegistryCheckup): Promise<void> {
  const sds = s.view.list('storagedriver', { vpool_guid: vpoolGuid }).sort((a, b) => (a.guid < b.guid ? -1 : 1));
  const answering = await answeringStorageDrivers(s, sds);
  r.not_answering = sds.filter((sd) => !answering.has(sd.guid)).map((sd) => sd.guid);
  const reader = sds.find((sd) => answering.has(sd.guid));
  if (!reader) {
    if (sds.length > 0) Object.assign(r, { success: false, error: 'no StorageDriver of the vPool answers' });
    return;
  }
  const current = answering.get(reader.guid)!;
  for (const sd of sds) await reconcile(s, sd, reader, current, answering.has(sd.guid), r);
  const modelled = new Set(sds.map((sd) => String(sd.storagedriver_id)));
  const stale = Object.keys(current).filter((id) => !modelled.has(id));
  if (stale.length > 0) {
    const registrations = await s.voldrv(reader.guid).registrations();
    for (const id of stale) {
      const owned = registrations.filter((x) => x.node_id === id).map((x) => x.object_id);
      if (owned.length > 0) r.stale_kept[id] = owned;
    }
    r.removed = await removeClusterNodes(s.js, vpoolGuid, stale.filter((id) => !(id in r.stale_kept)));
  }
}

/**
 * One StorageDriver of the model: missing from the registry, it is written ONLINE when it answers, OFFLINE when not
 * (it sets itself ONLINE when its volume driver starts); listed OFFLINE while it answers, it is ONLINE again. Listed
 * ONLINE while it does not answer stays as it is: declaring a node offline fails its vDisks over, the failure
 * detector's decision.
 */
async function reconcile(s: AgentServices, sd: ModelObject, reader: ModelObject, current: Record<string, NodeState>, answers: boolean, r: RegistryCheckup): Promise<void> {
  const id = String(sd.storagedriver_id);
  const held = current[id];
  if (answers && held !== 'ONLINE') {
    // Through its own volume driver: a node may always declare itself ONLINE.
    await s.voldrv(sd.guid).set_node_state({ node_id: id, state: 'ONLINE' });
    if (held === undefined) r.added[id] = 'ONLINE';
    else r.set_online.push(id);
  } else if (!answers && held === undefined) {
    await s.voldrv(reader.guid).set_node_state({ node_id: id, state: 'OFFLINE' });
    r.added[id] = 'OFFLINE';
  }
}

export const clusterRegistryCheckup = defineTask({
  module: 'storagedriver',
  name: 'cluster_registry_checkup',
  summary: "Makes each vPool's cluster registry list exactly the model's StorageDrivers (ONLINE when they answer)",
  params: z.object({}).strict(),
  owner: { kind: 'cluster' },
  ensureSingle: { mode: 'CHAINED' },
  async handler(_p, { services: s, log }): Promise<Record<string, RegistryCheckup>> {
    const out: Record<string, RegistryCheckup> = {};
    // Each vPool on its own: one that fails is reported and the others still get checked (as the original).
    for (const vpool of s.view.list('vpool')) {
      const c = (out[vpool.guid] = emptyCheckup());
      await checkVpool(s, vpool.guid, c).catch((e: unknown) => Object.assign(c, { success: false, error: asOvsError(e).message }));
      // What was written before a failure counts too.
      c.changes = Object.keys(c.added).length + c.set_online.length + c.removed.length > 0;
      if (c.changes || !c.success || Object.keys(c.stale_kept).length > 0) log.info({ vpool_guid: vpool.guid, ...c }, 'cluster registry checked');
    }
    return out;
  },
});

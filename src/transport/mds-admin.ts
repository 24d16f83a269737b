import { z } from 'zod';
import { MdsError } from '../errors.js';
import { parseParams } from './admin-api.js';
import { publicView } from '../model/schema.js';
import { guid } from '../tasks/params.js';
import { prepareMdsService, removeMdsService, type MdsModelServices } from '../tasks/mds/mds-services.js';

const createParams = z.object({ vpool_guid: guid, storagerouter_guid: guid, capacity: z.number().int().min(-1).max(100_000) }).strict();
const deleteParams = z.object({ guid }).strict();

/**
 * `ovs.model.mdsservice.create {vpool_guid, storagerouter_guid, capacity}`: one more MDS service of a vPool on a node
 * (capacity -1 = unlimited, 0 = draining); `ovs.model.mdsservice.delete {guid}`: removes a service that serves no
 * vDisk (set its capacity to 0 and let mds_checkup move its vDisks away first).
 */
export async function mdsServiceRequest(s: MdsModelServices, op: 'create' | 'delete', params: Record<string, unknown>, subject: string): Promise<unknown> {
  if (op === 'create') {
    const p = parseParams(createParams, params, subject);
    const vpool = s.view.get('vpool', p.vpool_guid);
    const sr = s.view.get('storagerouter', p.storagerouter_guid);
    const created = await prepareMdsService(s, vpool, sr, p.capacity);
    return publicView(s.view.typeDef('mdsservice'), created);
  }
  const { guid: g } = parseParams(deleteParams, params, subject);
  const mds = s.view.get('mdsservice', g);
  const used = s.view.list('mdsservicevdisk', { mds_service_guid: g }).length;
  if (used > 0) throw new MdsError(`MDS service ${g} still serves ${used} vDisk(s): set its capacity to 0 and run mds_checkup first`, {});
  await removeMdsService(s, mds);
  return null;
}

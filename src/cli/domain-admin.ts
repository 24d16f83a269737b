import { request } from '../client.js';
import { modelSubject } from '../protocol/subjects.js';
import { withNats } from './output.js';
import type { ReadOptions } from './store-read.js';

interface Junction { guid: string; storagerouter_guid: string; domain_guid: string; backup: boolean }

/** `ovs domain create <name>` */
export function createDomain(name: string, o: ReadOptions): Promise<void> {
  return withNats(o.nats, Boolean(o.json), (nc) => request(nc, modelSubject('domain', 'create'), { name }));
}

/** `ovs domain delete <domain guid>` */
export function deleteDomain(guid: string, o: ReadOptions): Promise<void> {
  return withNats(o.nats, Boolean(o.json), (nc) => request(nc, modelSubject('domain', 'delete'), { guid }));
}

/** `ovs domain assign <sr guid> <domain guid> [--recovery]`: a regular or (with --recovery) recovery domain. */
export function assignDomain(storagerouter: string, domain: string, o: ReadOptions & { recovery?: boolean }): Promise<void> {
  return withNats(o.nats, Boolean(o.json), (nc) =>
    request(nc, modelSubject('storagerouterdomain', 'create'), { storagerouter_guid: storagerouter, domain_guid: domain, backup: Boolean(o.recovery) }));
}

/** `ovs domain unassign <sr guid> <domain guid>` */
export function unassignDomain(storagerouter: string, domain: string, o: ReadOptions): Promise<void> {
  return withNats(o.nats, Boolean(o.json), async (nc) => {
    const [junction] = await request<Junction[]>(nc, modelSubject('storagerouterdomain', 'list'), { filter: { storagerouter_guid: storagerouter, domain_guid: domain } });
    if (!junction) return { unassigned: false, reason: 'the StorageRouter does not have that domain' };
    await request(nc, modelSubject('storagerouterdomain', 'delete'), { guid: junction.guid });
    return { unassigned: true, storagerouter_guid: storagerouter, domain_guid: domain, was: junction.backup ? 'recovery' : 'regular' };
  });
}

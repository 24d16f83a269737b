import type { ModelObject, ModelReader } from '../model/schema.js';

/** Where an MDS service listens: the storage IP of its vPool's StorageDriver on its StorageRouter, and its port. */
export function mdsAddress(reader: ModelReader, mds: ModelObject): string | undefined {
  const service = reader.find('service', String(mds.service_guid));
  const port = (service?.ports as number[] | undefined)?.[0];
  if (!service || port === undefined) return undefined;
  const sd = reader.list('storagedriver', { vpool_guid: String(mds.vpool_guid), storagerouter_guid: String(service.storagerouter_guid) })[0];
  return sd ? `${String(sd.storage_ip)}:${port}` : undefined;
}

export function mdsStoragerouter(reader: ModelReader, mds: ModelObject): string | undefined {
  const sr = reader.find('service', String(mds.service_guid))?.storagerouter_guid;
  return typeof sr === 'string' ? sr : undefined;
}

/** The MDS services of a vPool hosted on one StorageRouter, by number. */
export function mdsServicesOn(reader: ModelReader, vpoolGuid: string, storagerouterGuid: string): ModelObject[] {
  return reader.list('mdsservice', { vpool_guid: vpoolGuid })
    .filter((m) => mdsStoragerouter(reader, m) === storagerouterGuid)
    .sort((a, b) => Number(a.number) - Number(b.number));
}

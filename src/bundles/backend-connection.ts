import type { NatsConnection } from 'nats';
import { VpoolNotExtendedError } from '../errors.js';
import type { ModelObject, ModelReader } from '../model/schema.js';
import { backendGuidOf, backendInfoOf } from '../storagedriver/backend-of.js';
import { redactSecrets } from './redact.js';

/** The NATS servers of the cluster as this agent knows them (the one it is connected to first). */
export function natsServersOf(nc: NatsConnection): string[] {
  const urls = [nc.getServer(), ...(nc.info?.connect_urls ?? [])].filter((u) => u !== '').map((u) => (u.includes('://') ? u : `nats://${u}`));
  return [...new Set(urls)];
}

/** The vPool's StorageDriver on a StorageRouter; the original's ValueError when the vPool is not there is typed here. */
export function storagedriverOn(model: ModelReader, vpool: ModelObject, storagerouter: ModelObject): ModelObject {
  const sd = model.list('storagedriver', { vpool_guid: vpool.guid, storagerouter_guid: storagerouter.guid })[0];
  if (!sd) throw new VpoolNotExtendedError(String(vpool.name), vpool.guid, String(storagerouter.name), storagerouter.guid);
  return sd;
}

/**
 * What the vPool's StorageDriver on a node connects to for its backend, in place of the original's ALBA proxy
 * configuration: the vPool's `backend_info` (a directory, or a JetStream object store bucket reached over the
 * cluster's NATS) and the StorageDriver's own addresses; credentials redacted.
 */
export function backendConnection(model: ModelReader, nc: NatsConnection, vpool: ModelObject, sd: ModelObject): Record<string, unknown> {
  const info = backendInfoOf(vpool);
  const backend = (vpool.metadata as { backend?: Record<string, unknown> } | undefined)?.backend ?? {};
  const sr = model.get('storagerouter', String(sd.storagerouter_guid));
  return redactSecrets({
    vpool_guid: vpool.guid,
    vpool_name: vpool.name,
    storagerouter_guid: sr.guid,
    storagedriver_guid: sd.guid,
    storagedriver_id: sd.storagedriver_id,
    backend_guid: backendGuidOf(info),
    backend_info: info.type === 'nats' ? { ...info, store: 'jetstream-object-store', nats_servers: natsServersOf(nc) } : info,
    ...(backend.connection_info !== undefined ? { connection_info: backend.connection_info } : {}),
    storage_ip: sd.storage_ip,
    ports: sd.ports,
  }) as Record<string, unknown>;
}

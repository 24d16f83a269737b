import { UniqueConstraintError } from './errors.js';
import type { ConfigStore } from './config/store.js';
import { ensureClusterConfig } from './config/defaults.js';
import type { Identity } from './identity.js';
import type { ModelStore } from './model/store.js';
import { SEEDED_SERVICE_TYPES } from './model/types.js';

/** Registers (or re-registers) this host as a StorageRouter and seeds the cluster-wide defaults once. */
export async function registerStorageRouter(store: ModelStore, config: ConfigStore, id: Identity, o: { name: string; ip: string }): Promise<void> {
  const { storagerouter_guid: me, machine_id } = id;
  const now = Date.now() / 1000;
  if (store.view.find('storagerouter', me)) {
    await store.update('storagerouter', me, (sr) => {
      sr.name = o.name;
      sr.ip = o.ip;
      sr.heartbeats = { ...(sr.heartbeats as object), process: now };
    });
  } else {
    await store.create('storagerouter', { name: o.name, ip: o.ip, machine_id, node_type: 'MASTER', rdma_capable: false, heartbeats: { process: now, celery: now } }, me);
  }
  for (const typeName of SEEDED_SERVICE_TYPES) {
    if (store.view.list('servicetype', { name: typeName }).length > 0) continue;
    await store.create('servicetype', { name: typeName }).catch((e: unknown) => {
      if (!(e instanceof UniqueConstraintError)) throw e;
    });
  }
  await ensureClusterConfig(config, machine_id, o.ip);
}

/** The process heartbeat the original's cron wrote every minute (`heartbeats.process`). */
export async function processHeartbeat(store: ModelStore, storagerouterGuid: string): Promise<void> {
  await store.update('storagerouter', storagerouterGuid, (sr) => {
    sr.heartbeats = { ...(sr.heartbeats as object), process: Date.now() / 1000 };
  });
}

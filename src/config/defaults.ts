import { randomBytes } from 'node:crypto';
import type { ConfigStore } from './store.js';

/** Cluster-wide keys the original created at install (model.md §4.2), set once; per-host keys of this node. */
export async function ensureClusterConfig(config: ConfigStore, machineId: string, ip: string): Promise<void> {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const clusterId = Array.from(randomBytes(16), (b) => alphabet[b % alphabet.length]).join('');
  await config.setDefault('/ovs/framework/cluster_id', clusterId);
  await config.setDefault('/ovs/framework/install_time', Math.floor(Date.now() / 1000));
  await config.setDefault('/ovs/framework/support', { interval: 60, remote_access: false, support_agent: false });
  await config.setDefault('/ovs/framework/scheduling/celery', { 'ovs.stats_monkey.run_all': null, 'alba.stats_monkey.run_all': null });
  await config.setDefault('/ovs/framework/plugins/installed', { backends: [], generic: [] });
  await config.set(`/ovs/framework/hosts/${machineId}/ip`, ip);
  await config.setDefault(`/ovs/framework/hosts/${machineId}/type`, 'MASTER');
  await config.setDefault(`/ovs/framework/hosts/${machineId}/ports`, { storagedriver: [[26200, 26299]], mds: [[26300, 26399]], arakoon: [26400] });
}

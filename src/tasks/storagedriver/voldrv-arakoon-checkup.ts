import { z } from 'zod';
import { eventStreams, frameworkBuckets, registryBuckets } from '../../engine/resources.js';
import { checkReplicas, type ReplicaCheckup } from '../../engine/replicas.js';
import type { AgentServices } from '../../agent-services.js';
import { defineTask } from '../define.js';

/**
 * The original made sure the volume registry's Arakoon cluster existed and spanned every master node. Here the
 * registry of each vPool is a KV bucket: it is created when missing and every bucket and event stream of the project
 * grows to as many replicas as the NATS cluster has JetStream servers (at most three); nothing is shrunk.
 */
async function checkup(s: AgentServices): Promise<ReplicaCheckup> {
  const vpools = s.view.list('vpool').map((v) => v.guid);
  const report = await checkReplicas(s.nc, s.js, await s.nc.jetstreamManager(), {
    buckets: [...frameworkBuckets(), ...registryBuckets(vpools)],
    streams: eventStreams(),
  });
  s.log.info(report, report.changes.length > 0 ? 'engine buckets created or grown' : 'engine buckets have the replicas the cluster allows');
  return report;
}

const module = 'storagedriver';

export const manualVoldrvArakoonCheckup = defineTask({
  module,
  name: 'manual_voldrv_arakoon_checkup',
  summary: 'Creates a new Arakoon Cluster if required and extends cluster if possible on all available master nodes (here: the registry buckets and their replicas)',
  params: z.object({}).strict(),
  owner: { kind: 'cluster' },
  ensureSingle: { mode: 'DEFAULT', extraTaskNames: ['storagedriver.scheduled_voldrv_arakoon_checkup'] },
  async handler(_params, { services }) {
    await checkup(services);
    return true;
  },
});

export const scheduledVoldrvArakoonCheckup = defineTask({
  module,
  name: 'scheduled_voldrv_arakoon_checkup',
  summary: 'Makes sure the volumedriver arakoon is on all available master nodes (here: the registry buckets and their replicas)',
  params: z.object({}).strict(),
  owner: { kind: 'cluster' },
  ensureSingle: { mode: 'DEFAULT', extraTaskNames: ['storagedriver.manual_voldrv_arakoon_checkup'] },
  async handler(_params, { services }) {
    return checkup(services);
  },
});

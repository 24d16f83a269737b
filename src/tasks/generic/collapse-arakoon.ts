import { z } from 'zod';
import { eventStreams, frameworkBuckets, registryBuckets, taskResultBucket } from '../../engine/resources.js';
import { compactBucket, purgeAcknowledged, readUpkeepConfig, type BucketUpkeep, type StreamUpkeep } from '../../engine/upkeep.js';
import { defineTask } from '../define.js';

/**
 * The original collapsed the TLogs of every Arakoon cluster; here the engine is JetStream: each bucket keeps only the
 * newest value per key and sheds old delete markers, the task-result bucket sheds outcomes past their keep time, the
 * event streams shed what every durable consumer acknowledged. One failure is reported, not raised (as the original).
 */
export const collapseArakoon = defineTask({
  module: 'generic',
  name: 'collapse_arakoon',
  summary: "Collapse Arakoon's Tlogs (here: compact the JetStream buckets, purge old task results and acknowledged events)",
  params: z.object({}).strict(),
  owner: { kind: 'cluster' },
  ensureSingle: { mode: 'DEFAULT' },
  async handler(_params, { services, log }) {
    const cfg = await readUpkeepConfig(services.config);
    const deps = { js: services.js, jsm: await services.nc.jetstreamManager(), now: () => Date.now() };
    const buckets: Record<string, BucketUpkeep> = {};
    const streams: Record<string, StreamUpkeep> = {};
    const errors: Record<string, string> = {};
    const vpools = services.view.list('vpool').map((v) => v.guid);
    for (const bucket of [...frameworkBuckets(), ...registryBuckets(vpools)]) {
      try {
        const done = await compactBucket(deps, bucket, cfg, bucket === taskResultBucket());
        if (done) buckets[bucket] = done;
      } catch (e) {
        errors[bucket] = (e as Error).message;
        log.warn({ err: e, bucket }, 'bucket upkeep failed');
      }
    }
    for (const stream of eventStreams()) {
      try {
        const done = await purgeAcknowledged(deps, stream);
        if (done) streams[stream] = done;
      } catch (e) {
        errors[stream] = (e as Error).message;
        log.warn({ err: e, stream }, 'stream upkeep failed');
      }
    }
    log.info({ buckets, streams, errors }, 'engine upkeep done');
    return { buckets, streams, errors };
  },
});

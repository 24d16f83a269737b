import { z } from 'zod';
import { guid, guidList, nonNegativeInt, pathSafeName, record } from './params.js';

const TiB = 1024 ** 4;

/** Why a declared task has no handler yet. */
export const arrivesWith = {
  cluster: 'arrives with the cluster data plane (one vPool on several nodes, moves, failover)',
  phase2: 'arrives with the cluster data plane and the DTL (several agents, migration, write log)',
  mds: 'arrives with metadata safety (MDS roles)',
  scrub: 'arrives with scrubbing',
  alba: 'ALBA backends are out of scope for now',
  updates: 'arrives with rolling updates',
  support: 'arrives with support and statistics (support agent, stats monkey)',
  disks: 'arrives with disk role configuration (partition, filesystem, mount)',
  logs: 'arrives with log collection',
  arakoon: 'the Arakoon clusters of the original are NATS KV here; arrives with KV maintenance',
} as const;

// Volume and storagedriver ids end up in mutex names and fallback devicenames (`/<volume_id>.raw`); snapshot ids
// and tlog names name files of the volume driver.
export const volumeId = pathSafeName;
export const storagedriverId = pathSafeName;
export const snapshotId = pathSafeName;
export const tlogName = pathSafeName;

/** Unix seconds, as the original's callers send them: a string of digits or an integer; kept the way it came. */
export const snapshotTimestamp = z.union([z.string().regex(/^\d{1,20}$/, 'unix seconds as a string of digits'), nonNegativeInt]);

/** Bytes; the original refuses more than 64 TiB and has no lower bound. */
export const volumeSize = nonNegativeInt.max(64 * TiB);

export const pagecacheRatio = z.number().gt(0).lte(1);

/** 0.1 GiB (rounded down, as set_config_params checks it) to 1 TiB; null resets to the vPool default. */
const quota = nonNegativeInt.min(107_374_182).max(TiB).nullable();
export const cacheQuota = z.object({ fragment: quota.optional(), block: quota.optional() }).strict();

/** Snapshot metadata is stored with the snapshot; the original's volume driver keeps at most 4 KiB of it. */
export const SNAPSHOT_METADATA_MAX_BYTES = 4096;

/**
 * The keys the `snapshots` computed field needs are checked (the original stored any dict and broke on missing ones
 * later); other keys the caller adds are kept as given, within the size bound.
 */
export const snapshotMetadata = z
  .object({
    label: z.string().max(255),
    timestamp: snapshotTimestamp,
    is_consistent: z.boolean(),
    is_automatic: z.boolean().optional(),
    is_sticky: z.boolean().optional(),
  })
  .catchall(z.unknown())
  .refine((m) => Buffer.byteLength(JSON.stringify(m)) <= SNAPSHOT_METADATA_MAX_BYTES, `at most ${SNAPSHOT_METADATA_MAX_BYTES} bytes as JSON`);

/** `{vdisk_guid: snapshot_id | [snapshot_ids]}`; a single id asks for the legacy result format. */
export const snapshotMapping = z
  .record(guid, z.union([snapshotId, z.array(snapshotId).max(10_000)]))
  .refine((m) => Object.keys(m).length <= 10_000, 'at most 10000 vDisks');

export const vdiskConfigParams = z
  .object({
    dtl_mode: z.enum(['sync', 'a_sync', 'no_sync']).optional(),
    sco_size: z.literal([4, 8, 16, 32, 64, 128]).optional(),
    dtl_target: guidList.optional(),
    cache_quota: cacheQuota.nullable().optional(),
    write_buffer: z.number().int().min(128).max(10_240).optional(),
    pagecache_ratio: pagecacheRatio.optional(),
    // Legacy keys the original accepts and drops.
    dedupe_mode: z.unknown().optional(),
    cache_strategy: z.unknown().optional(),
    readcache_limit: z.unknown().optional(),
    metadata_cache_size: z.unknown().optional(),
  })
  .strict();

/** A path inside a vPool's filesystem (devicename or folder prefix): it may hold `/`, never a `..` component. */
export const vpoolPath = z
  .string()
  .min(1)
  .max(4096)
  .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'must not contain control characters or NUL')
  .refine((s) => !s.split('/').includes('..'), "must not contain a '..' component");

export const ipv4 = z.ipv4();

export const partitionRoles = z.array(z.enum(['DB', 'DTL', 'SCRUB', 'WRITE'])).max(4);

export const supportInfo = z
  .object({
    stats_monkey: z.boolean().optional(),
    support_agent: z.boolean().optional(),
    remote_access: z.boolean().optional(),
    stats_monkey_config: record.optional(),
  })
  .strict();

/** Update components (`framework`, `storagedriver`, plugin names); the original strips them. */
export const componentNames = z
  .array(z.string().trim().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/))
  .min(1)
  .max(32);

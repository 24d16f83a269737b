import { z } from 'zod';
import type { VoldrvMethod } from './voldrv-api.js';

/**
 * The arguments of each data-plane call as they arrive over NATS. The volume driver trusts its TypeScript types; a
 * call from the wire is checked here first, so a malformed one is a VALIDATION_ERROR instead of a call with
 * `undefined` fields (a `set_node_state` without a node wrote one named "undefined" into the registry).
 */
const id = z.string().min(1).max(1024);
// The driver parses sizes itself (parseSize: bytes, or "<bytes>B"), with its own typed error.
const size = z.union([z.number(), z.string().max(64)]);
const path = z.string().min(1).max(4096);
const volume = z.object({ volume_id: id }).strict();
const none = z.object({}).strict();
const count = z.number().int().positive().max(1 << 30);
const scrubWork = z.object({
  ns: id, volumeId: id, snapshot: id, clusterSize: count, scoMultiplier: count, tlogMultiplier: count,
  fillRatio: z.number().min(0).max(1),
  tlogs: z.array(z.object({ id, written: z.boolean(), size: z.number().int().nonnegative() }).strict()).max(1 << 20),
}).strict();

export const VOLDRV_ARGS: Record<VoldrvMethod | 'registrations', z.ZodType> = {
  create_volume: z.object({ target_path: path, volume_size: size, node_id: id.optional(), volume_id: id.optional() }).strict(),
  create_clone: z.object({ target_path: path, parent_volume_id: id, parent_snapshot_id: id, node_id: id.optional(), volume_id: id.optional() }).strict(),
  create_clone_from_template: z.object({ target_path: path, parent_volume_id: id, node_id: id.optional(), volume_id: id.optional() }).strict(),
  unlink: z.object({ target_path: path }).strict(),
  truncate: z.object({ object_id: id, new_size: size }).strict(),
  set_volume_as_template: volume,
  rollback_volume: z.object({ volume_id: id, snapshot_id: id }).strict(),
  restart_object: z.object({ object_id: id, force_restart: z.boolean().optional() }).strict(),
  list_volumes: z.object({ node_id: id.optional() }).strict(),
  info_volume: volume,
  create_snapshot: z.object({ volume_id: id, snapshot_id: id.optional(), metadata: z.instanceof(Uint8Array).optional() }).strict(),
  delete_snapshot: z.object({ volume_id: id, snapshot_id: id }).strict(),
  list_snapshots: volume,
  info_snapshot: z.object({ volume_id: id, snapshot_id: id }).strict(),
  is_volume_synced_up_to_snapshot: z.object({ volume_id: id, snapshot_name: id }).strict(),
  is_volume_synced_up_to_tlog: z.object({ volume_id: id, tlog_name: id }).strict(),
  schedule_backend_sync: volume,
  node_states: none,
  set_node_state: z.object({ node_id: id, state: z.enum(['ONLINE', 'OFFLINE']) }).strict(),
  steal_volume: z.object({ volume_id: id, force: z.boolean().optional() }).strict(),
  // The driver checks the DTL config itself (parseStoredDtlConfig); here only that it is a map or null.
  set_manual_dtl_config: z.object({ volume_id: id, config: z.record(z.string(), z.unknown()).nullable() }).strict(),
  get_dtl_config: volume,
  get_dtl_config_mode: volume,
  dtl_configs: none,
  dtl_replay: volume,
  get_scrubbing_workunits: volume,
  scrub: z.object({ work: scrubWork }).strict(),
  apply_scrubbing_result: z.object({ volume_id: id, result_name: id }).strict(),
  scrub_state: volume,
  update_metadata_backend_config: z.object({
    volume_id: id,
    metadata_backend_config: z.array(z.object({ address: id, port: z.number().int().min(1).max(65535) }).passthrough()),
    max_tlogs_behind: z.number().int().nonnegative().optional(),
  }).strict(),
  statistics_volume: volume,
  statistics_node: none,
  registrations: none,
};

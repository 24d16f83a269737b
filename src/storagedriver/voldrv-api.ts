import type { Registration } from '../dataplane/driver/registry.js';
import type { VolumeDriver } from '../dataplane/driver/volume-driver.js';

/** The data-plane calls (spec Part B) another agent may make on a StorageDriver's volume driver. */
export const VOLDRV_METHODS = [
  'create_volume', 'create_clone', 'create_clone_from_template', 'unlink', 'truncate', 'set_volume_as_template', 'rollback_volume',
  'restart_object', 'list_volumes', 'info_volume', 'create_snapshot', 'delete_snapshot', 'list_snapshots', 'info_snapshot',
  'is_volume_synced_up_to_snapshot', 'is_volume_synced_up_to_tlog', 'schedule_backend_sync', 'node_states', 'set_node_state', 'steal_volume',
  'set_manual_dtl_config', 'get_dtl_config', 'get_dtl_config_mode', 'dtl_configs', 'dtl_replay',
  'get_scrubbing_workunits', 'scrub', 'apply_scrubbing_result', 'scrub_state', 'update_metadata_backend_config',
  'statistics_volume', 'statistics_node',
] as const satisfies ReadonlyArray<keyof VolumeDriver>;

export type VoldrvMethod = (typeof VOLDRV_METHODS)[number];

type Settled<T> = T extends Promise<infer U> ? U : T;
type AsyncCall<F> = F extends (a: infer A) => infer R ? (a: A) => Promise<Settled<R>> : never;

/** One StorageDriver's volume driver, wherever it runs: every call is asynchronous, local or over NATS. */
export type VoldrvApi = { [K in VoldrvMethod]: AsyncCall<VolumeDriver[K]> } & {
  /** The registrations this StorageDriver's registry holds (`get_all_registrations`). */
  registrations(): Promise<Registration[]>;
};

export function isVoldrvMethod(name: string): name is VoldrvMethod | 'registrations' {
  return name === 'registrations' || (VOLDRV_METHODS as readonly string[]).includes(name);
}

/** The API over a driver in this process. */
export function localVoldrv(driver: () => Promise<VolumeDriver>): VoldrvApi {
  const api: Record<string, (a: unknown) => Promise<unknown>> = {
    registrations: async () => (await driver()).registry.list(),
  };
  for (const m of VOLDRV_METHODS) {
    api[m] = async (a: unknown) => {
      const d = await driver();
      return (d[m] as (x: unknown) => unknown).call(d, a);
    };
  }
  // Built from VOLDRV_METHODS, each entry calling the driver's method of that name: the mapped type holds.
  return api as unknown as VoldrvApi;
}

/** The API of a driver in another agent: each call is a request to `call(method, args)`. */
export function remoteVoldrv(call: (method: VoldrvMethod | 'registrations', args: unknown) => Promise<unknown>): VoldrvApi {
  const api: Record<string, (a: unknown) => Promise<unknown>> = { registrations: () => call('registrations', {}) };
  for (const m of VOLDRV_METHODS) api[m] = (a: unknown) => call(m, a);
  // Snapshot metadata crosses the wire as bytes; callers read it as a Buffer, as from a local driver.
  const infoSnapshot = api.info_snapshot!;
  api.info_snapshot = async (a: unknown) => {
    const info = (await infoSnapshot(a)) as { metadata: Uint8Array };
    return { ...info, metadata: Buffer.from(info.metadata) };
  };
  return api as unknown as VoldrvApi;
}

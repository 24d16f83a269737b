import { z } from 'zod';
import { geometryOf } from '../../storagedriver/host.js';
import { defineTask } from '../define.js';
import { guid } from '../params.js';

/** One value the running StorageDriver uses that its configuration no longer has (the original's change record). */
export interface ConfigDifference {
  param_name: string;
  /** What the running StorageDriver uses. */
  old_value: unknown;
  /** What the vPool's configuration and the model say now. */
  new_value: unknown;
  /** Nothing is reloaded while running here: when the new value takes effect. */
  takes_effect: string;
}

const FOR_NEW_VOLUMES = 'after a restart of the StorageDriver (agent), for volumes created then; existing volumes keep theirs (vdisk.set_config_params changes sco/tlog per vDisk)';
const FOR_LISTENER = 'after a restart of the StorageDriver (agent): the NBD listener binds once';
/** Keys of a vPool's configuration the volume driver reads (through its geometry). */
const USED_KEYS = new Set(['sco_size', 'sco_size_bytes', 'cluster_size', 'tlog_multiplier']);

export const refreshConfiguration = defineTask({
  module: 'storagedriver',
  name: 'refresh_configuration',
  summary: "Compares the StorageDriver's running configuration with the vPool's and the model's; lists what differs and when it takes effect",
  params: z.object({ storagedriver_guid: guid }).strict(),
  // At the StorageDriver's actor, on its node: what it runs with is there (the original reaches its volumedriver over SSH).
  owner: { kind: 'storagedriver', param: 'storagedriver_guid' },
  async handler({ storagedriver_guid }, { services: s, owner, log }) {
    const sd = s.view.get('storagedriver', storagedriver_guid);
    const vpool = s.view.get('vpool', String(sd.vpool_guid));
    const running = owner.driver.o.geometry;
    const configured = geometryOf(vpool).geometry;
    const pairs: Array<[string, unknown, unknown, string]> = [
      ['cluster_size_bytes', running.clusterSize, configured.clusterSize, FOR_NEW_VOLUMES],
      ['sco_multiplier', running.scoMultiplier, configured.scoMultiplier, FOR_NEW_VOLUMES],
      ['tlog_multiplier', running.tlogMultiplier, configured.tlogMultiplier, FOR_NEW_VOLUMES],
      ['storage_ip', owner.sd.storage_ip, sd.storage_ip, FOR_LISTENER],
      ['ports.edge', (owner.sd.ports as { edge?: number }).edge, (sd.ports as { edge?: number }).edge, FOR_LISTENER],
    ];
    const differences: ConfigDifference[] = pairs
      .filter(([, before, after]) => before !== after)
      .map(([param_name, old_value, new_value, takes_effect]) => ({ param_name, old_value, new_value, takes_effect }));
    const configuration = ((vpool.metadata as Record<string, unknown> | undefined)?.configuration ?? {}) as Record<string, unknown>;
    const notUsed = Object.keys(configuration).filter((k) => !USED_KEYS.has(k)).sort();
    for (const d of differences) log.info({ storagedriver_guid, ...d }, 'configuration differs from what the StorageDriver runs with');
    return { storagedriver_guid, changes: differences.length, differences, not_used_here: notUsed };
  },
});

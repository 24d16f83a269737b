import type { JetStreamClient } from 'nats';
import { RaceConditionError } from '../../errors.js';
import { CLUSTER_CONFIGURATION, decodeValue, encodeValue, registryBucketName, type ClusterConfiguration } from '../../dataplane/registry/keys.js';
import { isWrongLastSequence } from '../../model/kv-errors.js';

const ATTEMPTS = 10;

/**
 * Drops nodes from a vPool's cluster configuration, with compare-and-set on the key. The data-plane API has no call
 * that removes a node (set_node_state only sets one), so this writes the registry bucket the StorageDrivers share;
 * their registries follow the key through their watch. Returns the nodes that were there and are gone now.
 */
export async function removeClusterNodes(js: JetStreamClient, vpoolGuid: string, nodeIds: readonly string[]): Promise<string[]> {
  if (nodeIds.length === 0) return [];
  const kv = await js.views.kv(registryBucketName(vpoolGuid), { bindOnly: true });
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const entry = await kv.get(CLUSTER_CONFIGURATION);
    if (!entry || entry.operation !== 'PUT') return [];
    const current = decodeValue(CLUSTER_CONFIGURATION, entry.value) as ClusterConfiguration | undefined;
    if (!current) return [];
    const gone = nodeIds.filter((id) => id in current);
    if (gone.length === 0) return [];
    const next = Object.fromEntries(Object.entries(current).filter(([id]) => !gone.includes(id)));
    try {
      await kv.update(CLUSTER_CONFIGURATION, encodeValue(next), entry.revision);
      return gone;
    } catch (e) {
      if (!isWrongLastSequence(e)) throw e;
    }
  }
  throw new RaceConditionError(`${registryBucketName(vpoolGuid)}/${CLUSTER_CONFIGURATION}`, ATTEMPTS);
}

import type { AgentServices } from '../../agent-services.js';
import type { NodeState } from '../../dataplane/driver/registry.js';
import type { ModelObject } from '../../model/schema.js';

/** How long a StorageDriver's agent gets to answer before it counts as not answering. */
export const ANSWER_TIMEOUT_MS = 3_000;

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/**
 * The StorageDrivers whose volume driver answers a data-plane call now, each with the cluster registry's node states
 * as it sees them. A node that is down has no responder and is known at once; a hung one after the timeout.
 */
export async function answeringStorageDrivers(s: AgentServices, sds: readonly ModelObject[], timeoutMs = ANSWER_TIMEOUT_MS): Promise<Map<string, Record<string, NodeState>>> {
  const answers = await Promise.all(sds.map((sd) => within(s.voldrv(sd.guid).node_states({}), timeoutMs).then((states) => [sd.guid, states] as const, () => undefined)));
  return new Map(answers.filter((a) => a !== undefined));
}

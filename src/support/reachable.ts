import type { AgentServices } from '../agent-services.js';
import { opsSubject } from '../protocol/subjects.js';

/** How long an agent may take to answer its `info` endpoint before its StorageRouter counts as unreachable. */
export const REACHABLE_TIMEOUT_MS = 2_000;

/** The StorageRouters whose agent does not answer (name or guid, sorted); asked in parallel. */
export async function unreachableStorageRouters(s: Pick<AgentServices, 'nc' | 'view'>, timeoutMs = REACHABLE_TIMEOUT_MS): Promise<Array<{ guid: string; name: string }>> {
  const srs = s.view.list('storagerouter');
  const answers = await Promise.all(srs.map((sr) => s.nc.request(opsSubject(sr.guid, 'info'), new Uint8Array(), { timeout: timeoutMs }).then(() => true, () => false)));
  return srs.filter((_, i) => !answers[i]).map((sr) => ({ guid: sr.guid, name: String(sr.name) })).sort((a, b) => a.name.localeCompare(b.name));
}

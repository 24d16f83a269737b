import type { AgentServices } from '../agent-services.js';
import { UpdateSourceError } from '../errors.js';
import { packageInformation, type NodeFacts, type PackageInformation, type VpoolFacts } from '../policies/update-plan.js';
import { nodeUpdateStatus } from './node-client.js';
import { UPDATE_SOURCE_KEY } from './release.js';

export interface PackageRefresh {
  /** The configured source, or null when none is set (then nothing has an update). */
  source: string | null;
  /** Per StorageRouter ip: what was stored. */
  package_information: Record<string, PackageInformation>;
}

/** What the policy needs to know about the vPools: who serves them, who owns their vDisks. */
function vpoolFacts(s: AgentServices): VpoolFacts[] {
  const sdNode = new Map(s.view.list('storagedriver').map((sd) => [sd.guid, String(sd.storagerouter_guid)]));
  return s.view.list('vpool').map((v) => ({
    name: String(v.name),
    storagerouters: [...new Set(s.view.list('storagedriver', { vpool_guid: v.guid }).map((sd) => String(sd.storagerouter_guid)))],
    owners: [...new Set(s.view.list('vdisk', { vpool_guid: v.guid }).map((d) => sdNode.get(String(d.storagedriver_guid))).filter((x): x is string => x !== undefined))],
  }));
}

/**
 * `generic.refresh_package_information` (spec §4.6) without SSH: every agent reports the release it runs and the
 * candidate it reads from the configured source; each StorageRouter's `package_information` is stored. A node that
 * does not answer gets `{}` and is a `node_down` prerequisite for all; a node that cannot read the source gets `{}`
 * and its reason is raised at the end, after everything else was stored (as the original).
 */
export async function refreshPackageInformation(s: AgentServices): Promise<PackageRefresh> {
  const configured = await s.config.get<string>(UPDATE_SOURCE_KEY);
  const source = typeof configured === 'string' && configured !== '' ? configured : null;
  const srs = s.view.list('storagerouter');
  const statuses = await Promise.all(srs.map((sr) => nodeUpdateStatus(s.nc, sr.guid).catch(() => undefined)));
  const errors: string[] = [];
  const facts: NodeFacts[] = srs.map((sr, i) => {
    const st = statuses[i];
    if (st?.candidate_error) errors.push(`${String(sr.ip)}: ${st.candidate_error}`);
    return {
      guid: sr.guid, name: String(sr.name), ip: String(sr.ip), reachable: st !== undefined,
      installed: st?.version, candidate: source && !st?.candidate_error ? st?.candidate : undefined, canRelaunch: st ? st.relaunch !== null : undefined,
    };
  });
  const vpools = vpoolFacts(s);
  const stored: Record<string, PackageInformation> = {};
  for (const node of facts) {
    const info = packageInformation(node, facts, vpools);
    stored[node.ip] = info;
    await s.store.update('storagerouter', node.guid, (o) => {
      o.package_information = info;
    });
  }
  if (errors.length > 0) throw new UpdateSourceError(`the update source cannot be read:\n - ${errors.join('\n - ')}`, { source, errors });
  return { source, package_information: stored };
}

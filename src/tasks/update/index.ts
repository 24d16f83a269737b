import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ObjectNotFoundError, UpdateRefusedError, UpdateSourceError, ValidationError } from '../../errors.js';
import { COMPONENTS, mergeDowntimeInformation, mergePackageInformation, updateOrder, type PackageInformation } from '../../policies/update-plan.js';
import { nodeUpdateStatus } from '../../update/node-client.js';
import { refreshPackageInformation } from '../../update/package-facts.js';
import { readPlan, writePlan, type UpdatePlan } from '../../update/plan.js';
import { UPDATE_SOURCE_KEY } from '../../update/release.js';
import type { AgentServices } from '../../agent-services.js';
import { defineTask, type TaskDef } from '../define.js';
import { componentNames, ipv4 } from '../shapes.js';

const module = 'update';
const cluster = { kind: 'cluster' } as const;

const packageInfoOf = (s: AgentServices): Array<{ ip: string; name: string; guid: string; package_information: PackageInformation }> =>
  s.view.list('storagerouter').map((sr) => {
    const info: PackageInformation = sr.package_information ?? {};
    return { ip: String(sr.ip), name: String(sr.name), guid: sr.guid, package_information: info };
  });

const getUpdateMetadata = defineTask({
  module,
  name: 'get_update_metadata',
  summary: 'Returns metadata required for updating',
  params: z.object({ storagerouter_ip: ipv4 }).strict(),
  owner: cluster,
  async handler({ storagerouter_ip }, { services: s }) {
    const sr = s.view.list('storagerouter', { ip: storagerouter_ip })[0];
    if (!sr) throw new ObjectNotFoundError('storagerouter', storagerouter_ip);
    const st = await nodeUpdateStatus(s.nc, sr.guid).catch(() => undefined);
    const plan = await readPlan(s.config);
    // `at_ok` kept for the original's callers: here it says whether the node can restart itself on a release.
    return { reachable: st !== undefined, at_ok: st !== undefined && st.relaunch !== null, update_ongoing: plan?.status === 'running', version: st?.version ?? null };
  },
});

const mergePackageInfo = defineTask({
  module,
  name: 'merge_package_information',
  summary: 'Merge the package information of all StorageRouters and plugins (ALBA, iSCSI, ...) per IP',
  params: z.object({}).strict(),
  owner: cluster,
  handler: async (_p, { services: s }) => mergePackageInformation(packageInfoOf(s)),
});

const mergeDowntimeInfo = defineTask({
  module,
  name: 'merge_downtime_information',
  summary: 'Merge the downtime information and prerequisite information of all StorageRouters and plugins per component',
  params: z.object({}).strict(),
  owner: cluster,
  handler: async (_p, { services: s }) => mergeDowntimeInformation(packageInfoOf(s)),
});

/**
 * Checks everything before anything changes (components, no update running, a readable source, fresh package
 * information, no prerequisite), stores the plan and hands it to the runner: the reply comes at once, progress is on
 * `ovs.evt.update.progress` and in the plan (`ovs update status`).
 */
const updateComponents = defineTask({
  module,
  name: 'update_components',
  summary: 'Initiate the update through commandline for all StorageRouters',
  // Not in the seed's docstring; the signature has it (spec §10.4).
  params: z.object({ components: componentNames }).strict(),
  owner: cluster,
  // Two starts at once would both pass the "none running" check; the second is dropped while the first decides.
  ensureSingle: { mode: 'DEFAULT' },
  async handler({ components }, { services: s }) {
    const unknown = components.filter((c) => !(COMPONENTS as readonly string[]).includes(c));
    if (unknown.length > 0) throw new ValidationError(`unknown component(s) ${unknown.join(', ')}; this cluster has ${COMPONENTS.join(', ')}`, unknown.map((c) => ({ path: 'components', message: `unknown component '${c}'` })));
    const running = await readPlan(s.config);
    if (running?.status === 'running') throw new UpdateRefusedError(`update ${running.id} to ${running.version} is still running`, { update_id: running.id });
    const refreshed = await refreshPackageInformation(s);
    if (refreshed.source === null) throw new UpdateSourceError(`no update source is configured (set ${UPDATE_SOURCE_KEY} to a release tarball path or URL)`, { key: UPDATE_SOURCE_KEY });
    const nodes = packageInfoOf(s);
    const downtime = mergeDowntimeInformation(nodes);
    const blocking = components.flatMap((c) => (downtime[c]?.prerequisites ?? []).map((p) => `${c}: ${p[0]} ${p[1] ?? ''}`.trim()));
    if (blocking.length > 0) throw new UpdateRefusedError(`prerequisites are not met: ${blocking.join('; ')}`, { prerequisites: blocking });
    const outdated = nodes.filter((n) => n.package_information.framework?.packages.ovs);
    if (outdated.length === 0) return { update_id: null, message: 'every StorageRouter already runs the candidate' };
    const version = outdated[0]!.package_information.framework!.packages.ovs!.candidate;
    const plan: UpdatePlan = {
      id: randomUUID(), version, source: refreshed.source, components, status: 'running', started_at: Date.now(), log: [],
      nodes: updateOrder(outdated, s.storagerouterGuid).map((n) => ({ guid: n.guid, name: n.name, ip: n.ip, from: n.package_information.framework!.packages.ovs!.installed, step: 'pending', moved: [] })),
    };
    await writePlan(s.config, plan);
    void s.updates?.kick();
    return { update_id: plan.id, version, storagerouters: plan.nodes.map((n) => n.name) };
  },
});

export const updateTasks: TaskDef[] = [getUpdateMetadata, mergePackageInfo, mergeDowntimeInfo, updateComponents];

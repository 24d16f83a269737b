import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { z } from 'zod';
import { request } from '../../client.js';
import { installedNatsServerVersion, ownVersion } from '../../host/versions.js';
import { opsSubject } from '../../protocol/subjects.js';
import type { ActorInfo } from '../../supervisors/supervision.js';
import { defineTask } from '../define.js';

const run = promisify(execFile);

export const getSupportMetadata = defineTask({
  module: 'storagerouter',
  name: 'get_support_metadata',
  summary: 'Returns support metadata for a given StorageRouter',
  params: z.object({}).strict(),
  // The original routes it by queue to the node of interest; without a guid parameter to route on, the node that
  // receives it answers, so callers address that node directly.
  owner: { kind: 'any' },
  async handler(_params, { services }) {
    const errors: string[] = [];
    const cid = await services.config.get<string>('/ovs/framework/cluster_id').catch((e: unknown) => void errors.push(`cluster id: ${(e as Error).message}`));
    const versions: Record<string, string> = { node: process.versions.node, ovs: ownVersion() };
    const nats = await installedNatsServerVersion();
    if (nats) versions['nats-server'] = nats;
    const components: Record<string, string> = {};
    try {
      const tree = await request<ActorInfo[]>(services.nc, opsSubject(services.storagerouterGuid, 'tree'), {}, { timeoutMs: 5_000 });
      for (const a of tree) components[a.path] = a.status;
    } catch (e) {
      errors.push(`actor tree: ${(e as Error).message}`);
    }
    Object.assign(components, await systemdUnits().catch((e: unknown) => void errors.push(`systemd units: ${(e as Error).message}`)));
    return {
      cid: cid ?? null,
      nid: services.machineId,
      metadata: { versions: Object.fromEntries(Object.entries(versions).sort(([a], [b]) => a.localeCompare(b))), services: components },
      ...(errors.length > 0 ? { errors } : {}),
    };
  },
});

/** `ovs-*` units and their state (`active (running)`), when this host runs systemd; none otherwise. */
async function systemdUnits(): Promise<Record<string, string>> {
  if (!existsSync('/run/systemd/system')) return {};
  const { stdout } = await run('systemctl', ['list-units', '--all', '--no-legend', '--plain', '--type=service', 'ovs-*'], { timeout: 10_000 });
  const units: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const [unit, , active, sub] = line.trim().split(/\s+/);
    if (unit && active && sub) units[unit.replace(/\.service$/, '')] = `${active} (${sub})`;
  }
  return units;
}

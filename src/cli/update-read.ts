import { request } from '../client.js';
import { taskSubject } from '../protocol/subjects.js';
import { UPDATE_STATE_KEY, type UpdatePlan } from '../update/plan.js';
import { UPDATE_SOURCE_KEY } from '../update/release.js';
import { withNats } from './output.js';
import type { ReadOptions } from './store-read.js';

const TASK_TIMEOUT_MS = 120_000;

/** `ovs update status`: the current (or last) rolling update, node by node, with its last progress lines. */
export function updateStatus(o: ReadOptions): Promise<void> {
  return withNats(o.nats, Boolean(o.json), async (nc) => {
    const plan = (await request<{ value?: UpdatePlan }>(nc, 'ovs.config.get', { key: UPDATE_STATE_KEY })).value;
    if (!plan) return { update: 'none has run yet' };
    if (o.json) return plan;
    return {
      update: plan.id, version: plan.version, status: plan.status, started: new Date(plan.started_at).toISOString(), error: plan.error ?? null,
      nodes: plan.nodes.map((n) => `${n.name} (${n.ip}) ${n.from} → ${plan.version}: ${n.step}${n.error ? ` — ${n.error}` : ''}`),
      last: plan.log.slice(-5).map((l) => `${new Date(l.ts).toISOString()} ${l.message}`),
    };
  });
}

/** `ovs update check [--source S]`: refreshes every node's package information and shows what would change. */
export function updateCheck(o: ReadOptions & { source?: string }): Promise<void> {
  return withNats(o.nats, Boolean(o.json), async (nc) => {
    if (o.source) await request(nc, 'ovs.config.set', { key: UPDATE_SOURCE_KEY, value: o.source });
    await request(nc, taskSubject('generic.refresh_package_information'), {}, { timeoutMs: TASK_TIMEOUT_MS });
    const [packages, downtime] = await Promise.all([
      request(nc, taskSubject('update.merge_package_information'), {}),
      request(nc, taskSubject('update.merge_downtime_information'), {}),
    ]);
    return { packages, downtime };
  });
}

/** `ovs update start [--components c,...]`: starts the rolling update; follow it with `ovs update status`. */
export function updateStart(o: ReadOptions & { components: string }): Promise<void> {
  return withNats(o.nats, Boolean(o.json), (nc) =>
    request(nc, taskSubject('update.update_components'), { components: o.components.split(',').map((c) => c.trim()).filter(Boolean) }, { timeoutMs: TASK_TIMEOUT_MS }));
}

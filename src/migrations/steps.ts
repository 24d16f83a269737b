import type { KV } from 'nats';
import type { ConfigStore } from '../config/store.js';
import { relationField, type TypeDef } from '../model/schema.js';
import type { ModelStore } from '../model/store.js';
import { MODEL_TYPES } from '../model/types.js';
import { decode } from '../protocol/codec.js';
import { STATS_MONKEY_CONFIG_KEY } from '../policies/stats-config.js';
import { SCHEDULING_KEY, SUPPORT_KEY } from '../support/support-config.js';
import type { MigrationStep } from './runner.js';

/** The model's shape as src/model/types.ts declares it now; raised whenever a migration step changes stored objects. */
export const MODEL_VERSION = 1;

export interface StepDeps {
  modelKv: KV;
  store: ModelStore;
  config: ConfigStore;
}

/** Every migration, in the order it runs. Appending is the only change allowed: flags of done steps stay meaningful. */
export function migrationSteps(d: StepDeps): MigrationStep[] {
  return [
    { name: 'model_declared_fields', modelVersion: 1, run: () => fillDeclaredFields(d, MODEL_TYPES) },
    { name: 'stats_monkey_integration', run: () => statsMonkeyIntegration(d.config) },
  ];
}

/**
 * Objects written before a property or relation was declared (vPools before rdma_enabled, vDisks before
 * is_vtemplate, partitions before mds_service) get it with its default, written through the store so the value is
 * checked and the views follow. Fields no longer declared are dropped on that write.
 */
export async function fillDeclaredFields(d: StepDeps, types: readonly TypeDef[]): Promise<Record<string, unknown>> {
  const updated: Record<string, number> = {};
  for (const def of types) {
    const fields = [...Object.keys(def.props), ...def.relations.map(relationField)];
    const keys: string[] = [];
    for await (const k of await d.modelKv.keys(`${def.name}.*`)) keys.push(k);
    for (const key of keys) {
      const e = await d.modelKv.get(key);
      if (!e || e.operation !== 'PUT') continue;
      const stored = decode(e.value) as Record<string, unknown>;
      if (fields.every((f) => Object.hasOwn(stored, f))) continue;
      await d.store.update(def.name, key.slice(def.name.length + 1), () => undefined);
      updated[def.name] = (updated[def.name] ?? 0) + 1;
    }
  }
  return { objects: updated };
}

const OLD_STATS_KEY = '/statsmonkey/statsmonkey';
const STATS_KEY = STATS_MONKEY_CONFIG_KEY;
const CELERY_KEY = SCHEDULING_KEY;

/**
 * The original's `stats_monkey_integration`: the stats monkey configuration moves under /ovs/framework/monitoring,
 * its old schedule entry becomes the two stats_monkey.run_all entries, and the support keys get their current names
 * (`enabled` → `support_agent`, `enablesupport` → `remote_access`). Values already under the new names win.
 */
export async function statsMonkeyIntegration(config: ConfigStore): Promise<Record<string, unknown>> {
  const changes: string[] = [];
  const oldStats = await config.get(OLD_STATS_KEY);
  if (oldStats !== undefined) {
    if (!(await config.exists(STATS_KEY))) {
      await config.set(STATS_KEY, oldStats);
      changes.push(`${OLD_STATS_KEY} → ${STATS_KEY}`);
    }
    await config.delete(OLD_STATS_KEY);
  }
  const celery = await config.get<Record<string, unknown>>(CELERY_KEY);
  if (celery && typeof celery === 'object' && Object.hasOwn(celery, 'statsmonkey.run_all_stats')) {
    const { 'statsmonkey.run_all_stats': old, ...rest } = celery;
    const value = old ?? null;
    await config.set(CELERY_KEY, { ...rest, 'ovs.stats_monkey.run_all': rest['ovs.stats_monkey.run_all'] ?? value, 'alba.stats_monkey.run_all': rest['alba.stats_monkey.run_all'] ?? value });
    changes.push(`${CELERY_KEY}: statsmonkey.run_all_stats → ovs.stats_monkey.run_all, alba.stats_monkey.run_all`);
  }
  const support = await config.get<Record<string, unknown>>(SUPPORT_KEY);
  if (support && typeof support === 'object' && (Object.hasOwn(support, 'enabled') || Object.hasOwn(support, 'enablesupport'))) {
    const { enabled, enablesupport, ...rest } = support;
    await config.set(SUPPORT_KEY, {
      ...rest,
      support_agent: rest.support_agent ?? enabled ?? true,
      remote_access: rest.remote_access ?? enablesupport ?? false,
    });
    changes.push(`${SUPPORT_KEY}: enabled → support_agent, enablesupport → remote_access`);
  }
  return { keys: changes };
}

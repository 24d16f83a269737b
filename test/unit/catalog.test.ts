import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { buildTaskTable } from '../../src/tasks/table.js';

interface SeedTask {
  module: string;
  name: string;
  params: string[];
}

type Def = ReturnType<typeof buildTaskTable> extends ReadonlyMap<string, infer D> ? D : never;

/** Parameters the original's signature takes that its docstring does not list (spec §10.4). */
const SIGNATURE_ONLY: Readonly<Record<string, readonly string[]>> = {
  'update.update_components': ['components'],
};

/**
 * The seed tasks that have a handler. A task that gets one joins this list in the same change; one that loses it
 * is a regression this test reports.
 */
const IMPLEMENTED = [
  'disk.sync_with_reality',
  'generic.collapse_arakoon',
  'generic.delete_snapshots',
  'generic.delete_snapshots_storagedriver',
  'generic.execute_scrub',
  'generic.refresh_package_information',
  'generic.run_backend_domain_hooks',
  'generic.snapshot_all_vdisks',
  'mds.ensure_safety',
  'mds.ensure_safety_vpool',
  'mds.mds_catchup',
  'mds.mds_checkup',
  'mds.mds_checkup_single',
  'migration.migrate',
  'storagedriver.cluster_registry_checkup',
  'storagedriver.manual_voldrv_arakoon_checkup',
  'storagedriver.mark_offline',
  'storagedriver.refresh_configuration',
  'storagedriver.scheduled_voldrv_arakoon_checkup',
  'storagedriver.volumedriver_error',
  'monitoring.verify_vdisk_cache_quota',
  'storagerouter.add_vpool',
  'storagerouter.configure_disk',
  'storagerouter.configure_support',
  'storagerouter.create_hprm_config_files',
  'storagerouter.get_logfiles',
  'storagerouter.get_metadata',
  'storagerouter.get_proxy_config',
  'storagerouter.get_support_info',
  'storagerouter.get_support_metadata',
  'storagerouter.get_version_info',
  'storagerouter.mountpoint_exists',
  'storagerouter.ping',
  'storagerouter.refresh_hardware',
  'stats_monkey.run_all',
  'update.get_update_metadata',
  'update.merge_downtime_information',
  'update.merge_package_information',
  'update.update_components',
  'vdisk.clone',
  'vdisk.create_from_template',
  'vdisk.create_new',
  'vdisk.create_snapshot',
  'vdisk.create_snapshots',
  'vdisk.delete',
  'vdisk.delete_from_voldrv',
  'vdisk.delete_snapshot',
  'vdisk.delete_snapshots',
  'vdisk.dtl_checkup',
  'vdisk.dtl_state_transition',
  'vdisk.extend',
  'vdisk.get_config_params',
  'vdisk.is_volume_synced_up_to_snapshot',
  'vdisk.is_volume_synced_up_to_tlog',
  'vdisk.list_volumes',
  'vdisk.migrate_from_voldrv',
  'vdisk.move',
  'vdisk.move_multiple',
  'vdisk.rename_from_voldrv',
  'vdisk.resize_from_voldrv',
  'vdisk.restart',
  'vdisk.rollback',
  'vdisk.schedule_backend_sync',
  'vdisk.set_as_template',
  'vdisk.set_config_params',
  'vdisk.sync_with_reality',
  'vpool.balance_change',
  'vpool.shrink_vpool',
  'vpool.up_and_running',
];

const ENSURE_SINGLE_MODES = ['NONE', 'DEFAULT', 'DEDUPED', 'CHAINED'];

/** `### Module` / `#### task` headings, each followed by a fenced docstring with `:param name:` lines. */
function parseSeed(text: string): SeedTask[] {
  const tasks: SeedTask[] = [];
  let module: string | undefined;
  for (const line of text.split('\n')) {
    const section = /^### (\S+)\s*$/.exec(line);
    const task = /^#### (\S+)\s*$/.exec(line);
    const param = /:param\s+(\w+):/.exec(line);
    if (section?.[1]) module = section[1].toLowerCase();
    else if (task?.[1] && module) tasks.push({ module, name: task[1], params: [] });
    else if (param?.[1]) tasks.at(-1)?.params.push(param[1]);
  }
  return tasks;
}

// The seed's task names and parameters, kept in the repository so the suite stands on its own; when the team's
// seed document sits next to the checkout, the copy is checked against it.
const seed = JSON.parse(readFileSync(fileURLToPath(new URL('../../../test/fixtures/seed-tasks.json', import.meta.url)), 'utf8')) as SeedTask[];
const seedDocument = [fileURLToPath(new URL('../../../../shared/seed/tasks.md', import.meta.url)), process.env.OVS_SEED].find(
  (p): p is string => p !== undefined && p !== '' && existsSync(p),
);
const nameOf = (t: { module: string; name: string }): string => `${t.module}.${t.name}`;
const seedNames = seed.map(nameOf);
const table = buildTaskTable();

function shapeOf(def: Def): Record<string, unknown> {
  if (!(def.params instanceof z.ZodObject)) throw new Error(`${nameOf(def)}: params is not a z.object`);
  return def.params.shape;
}

test('the seed fixture matches the seed document when it is present', (t) => {
  if (!seedDocument) return t.pass('seed document not next to this checkout; the fixture stands alone');
  t.deepEqual(seed, parseSeed(readFileSync(seedDocument, 'utf8')));
});

test('the seed fixture names each task once', (t) => {
  t.true(seed.length > 50, `only ${seed.length} tasks in the fixture`);
  t.is(new Set(seedNames).size, seedNames.length);
});

test('the task table holds exactly the seed tasks, each under its own module and name', (t) => {
  t.deepEqual([...table.keys()].sort(), [...seedNames].sort());
  for (const [key, def] of table) t.is(nameOf(def), key);
});

test('test tasks join the table only when asked for, all under test.*, all runnable but the one kept without handler', (t) => {
  const withTests = buildTaskTable({ testTasks: true });
  const extra = [...withTests.keys()].filter((k) => !table.has(k));
  t.true(extra.length > 0);
  for (const k of extra) {
    t.true(k.startsWith('test.'), k);
    if (k === 'test.not_implemented') t.truthy(withTests.get(k)?.pending, k);
    else t.is(typeof withTests.get(k)?.handler, 'function', k);
  }
  t.deepEqual([...withTests.keys()].filter((k) => table.has(k)).sort(), [...table.keys()].sort());
});

test("each task's parameters are the seed's parameter names, no more and no fewer", (t) => {
  for (const s of seed) {
    const def = table.get(nameOf(s));
    if (!def) continue; // reported by the table test
    const expected = [...s.params, ...(SIGNATURE_ONLY[nameOf(s)] ?? [])].sort();
    t.deepEqual(Object.keys(shapeOf(def)).sort(), expected, nameOf(s));
  }
  for (const [name, params] of Object.entries(SIGNATURE_ONLY)) {
    const s = seed.find((x) => nameOf(x) === name);
    t.truthy(s, `${name} is a seed task`);
    for (const p of params) t.false(s?.params.includes(p), `${name}: ${p} is in the docstring after all; drop the exception`);
  }
});

test('schemas refuse keys that are not seed parameters', (t) => {
  for (const def of table.values()) {
    const r = def.params.safeParse({ not_a_seed_parameter: 1 });
    const refused = r.success ? [] : r.error.issues.filter((i) => i.code === 'unrecognized_keys');
    t.is(refused.length, 1, `${nameOf(def)} accepts an unknown key`);
  }
});

test('owner and ensure_single name only parameters the task has', (t) => {
  for (const def of table.values()) {
    const shape = shapeOf(def);
    if ('param' in def.owner) t.true(def.owner.param in shape, `${nameOf(def)}: owner ${def.owner.kind} by ${def.owner.param}`);
    t.true(ENSURE_SINGLE_MODES.includes(def.ensureSingle.mode), `${nameOf(def)}: mode ${def.ensureSingle.mode}`);
    for (const a of def.ensureSingle.ignoreArguments ?? []) t.true(a in shape, `${nameOf(def)} ignores unknown ${a}`);
  }
});

test('a pending task says why and has no handler; an implemented one has a handler and no pending reason', (t) => {
  for (const def of table.values()) {
    const name = nameOf(def);
    t.true(typeof def.summary === 'string' && def.summary.trim() !== '', `${name} has a summary`);
    if (def.handler === undefined) {
      t.true(typeof def.pending === 'string' && def.pending.trim() !== '', `${name} has neither a handler nor a reason`);
    } else {
      t.is(typeof def.handler, 'function', name);
      t.is(def.pending, undefined, `${name} has a handler and a pending reason`);
    }
  }
});

test('exactly the implemented tasks have handlers', (t) => {
  const withHandler = [...table.values()].filter((d) => d.handler !== undefined).map(nameOf).sort();
  t.deepEqual(withHandler, [...IMPLEMENTED].sort(), 'update IMPLEMENTED when a task gets its handler');
});

test('every seed task has a handler (69 of 69): none answers NOT_IMPLEMENTED', (t) => {
  const missing = seed.map((s) => `${s.module}.${s.name}`).filter((name) => !table.get(name)?.handler);
  t.deepEqual(missing, []);
  t.is(seed.length, 69);
});

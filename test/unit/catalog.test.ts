import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { fullName } from '../../src/tasks/define.js';
import { pendingTasks } from '../../src/tasks/catalog/index.js';

/** Declared by the implemented task modules, not by the catalog. */
const implementedElsewhere = new Set([
  'disk.sync_with_reality',
  'storagerouter.ping',
  'storagerouter.get_version_info',
  'storagerouter.get_metadata',
  'storagerouter.mountpoint_exists',
  'storagerouter.refresh_hardware',
  'vpool.balance_change',
]);

interface SeedTask {
  module: string;
  name: string;
  params: string[];
}

function seedPath(): string | undefined {
  const candidates = [fileURLToPath(new URL('../../../../shared/seed/tasks.md', import.meta.url)), process.env.OVS_SEED];
  return candidates.find((p): p is string => p !== undefined && p !== '' && existsSync(p));
}

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
const fixture = JSON.parse(readFileSync(fileURLToPath(new URL('../../../test/fixtures/seed-tasks.json', import.meta.url)), 'utf8')) as SeedTask[];
const path = seedPath();
const seed = fixture;
const missingSeed = 'seed task list fixture is empty';
const pendingSeed = (seed ?? []).filter((s) => !implementedElsewhere.has(`${s.module}.${s.name}`));

test('the seed fixture matches the seed document when it is present', (t) => {
  if (!path) return t.pass('seed document not next to this checkout; the fixture stands alone');
  t.deepEqual(fixture, parseSeed(readFileSync(path, 'utf8')));
});

function shapeOf(schema: z.ZodType): Record<string, unknown> | undefined {
  return schema instanceof z.ZodObject ? schema.shape : undefined;
}

test('the seed is readable and lists tasks', (t) => {
  if (!seed) return t.fail(missingSeed);
  t.true(seed.length > 50, `only ${seed.length} tasks parsed from ${path}`);
  for (const name of implementedElsewhere) t.true(seed.some((s) => `${s.module}.${s.name}` === name), name);
});

test('every seed task not implemented elsewhere is declared exactly once, in its module', (t) => {
  if (!seed) return t.fail(missingSeed);
  for (const s of pendingSeed) {
    const declared = pendingTasks.filter((d) => d.name === s.name && d.module === s.module);
    t.is(declared.length, 1, `${s.module}.${s.name} declared ${declared.length} times`);
  }
  const names = pendingTasks.map((d) => fullName(d));
  t.is(new Set(names).size, names.length, 'duplicate declarations');
});

test('tasks implemented elsewhere are not in the catalog', (t) => {
  for (const d of pendingTasks) t.false(implementedElsewhere.has(fullName(d)), fullName(d));
});

test('no declared task is absent from the seed', (t) => {
  if (!seed) return t.fail(missingSeed);
  for (const d of pendingTasks) {
    t.true(pendingSeed.some((s) => s.module === d.module && s.name === d.name), `${fullName(d)} is not in the seed`);
  }
});

test("every docstring :param is a key of the task's schema", (t) => {
  if (!seed) return t.fail(missingSeed);
  for (const s of pendingSeed) {
    const d = pendingTasks.find((x) => x.module === s.module && x.name === s.name);
    if (!d) continue; // reported by the declaration test
    const shape = shapeOf(d.params);
    if (!shape) {
      t.fail(`${fullName(d)}: params is not a z.object`);
      continue;
    }
    for (const p of s.params) t.true(p in shape, `${fullName(d)} lacks :param ${p}`);
  }
});

test('declarations are pending, strict, and name only their own parameters', (t) => {
  for (const d of pendingTasks) {
    const name = fullName(d);
    t.is(d.handler, undefined, name);
    t.truthy(d.pending, `${name} says why it is pending`);
    t.truthy(d.summary, `${name} has a summary`);
    t.false(d.params.safeParse({ not_a_seed_parameter: 1 }).success, `${name} refuses unknown keys`);
    const shape = shapeOf(d.params) ?? {};
    if ('param' in d.owner) t.true(d.owner.param in shape, `${name} owner param ${d.owner.param}`);
    for (const a of d.ensureSingle.ignoreArguments ?? []) t.true(a in shape, `${name} ignores unknown ${a}`);
  }
});

test('the task table holds every seed task exactly once with its seed parameters, and nothing else outside test.*', async (t) => {
  const { buildTaskTable } = await import('../../src/tasks/table.js');
  const table = buildTaskTable({ testTasks: true });
  for (const s of seed) {
    const def = table.get(`${s.module}.${s.name}`);
    if (!def) {
      t.fail(`${s.module}.${s.name} is not in the task table`);
      continue;
    }
    const shape = shapeOf(def.params) ?? {};
    for (const p of s.params) t.true(p in shape, `${s.module}.${s.name} lacks parameter ${p}`);
  }
  const seedNames = new Set(seed.map((s) => `${s.module}.${s.name}`));
  t.deepEqual([...table.keys()].filter((k) => !seedNames.has(k) && !k.startsWith('test.')), []);
});

// Every request subject an agent serves, built from the subject builders and the live model (never a hand list).
import type { NatsConnection } from 'nats';
import { z } from 'zod';
import { request } from '../../src/client.js';
import { mdsSubject } from '../../src/mds/wire.js';
import type { ModelObject, ModelReader } from '../../src/model/schema.js';
import { MODEL_TYPES } from '../../src/model/types.js';
import {
  CONFIG_OPERATIONS, MODEL_OPERATIONS, OPS_OPERATIONS, TASK_RESULT, TEST_OPERATIONS, UPDATE_OPERATIONS, configSubject, modelSubject,
  nodeModelSubject, nodeTaskSubject, opsSubject, taskSubject, testSubject, updateSubject, voldrvSubject,
} from '../../src/protocol/subjects.js';
import { VOLDRV_METHODS } from '../../src/storagedriver/voldrv-api.js';
import { mdsAddress } from '../../src/storagedriver/mds-model.js';
import { fullName } from '../../src/tasks/define.js';
import { buildTaskTable } from '../../src/tasks/table.js';
import { TEST_PARAMS } from '../../src/testmode/admin-params.js';

export interface FuzzContext {
  storagerouters: string[];
  storagedrivers: Array<{ guid: string; storagerouter_guid: string }>;
  /** `ip:port` of every MDS service in the model. */
  mdsAddresses: string[];
  /** StorageRouters whose agent runs with `--test-mode` (they answer `ovs.node.<sr>.test.*`). */
  testMode: string[];
}

export interface FuzzTarget {
  subject: string;
  family: 'task' | 'node-task' | 'task-result' | 'model' | 'node-model' | 'config' | 'ops' | 'voldrv' | 'update' | 'test' | 'mds' | 'unknown';
  /** A map whose known fields have values of the wrong type (checked against the schema where the code has one). */
  wrongTypes?: Record<string, unknown>;
}

const WRONG_VALUES: unknown[] = [12345, 'fuzz-not-a-guid', true, [1, 2, 3], { fuzz: 1 }, -1, null];

/** A value each field's schema refuses, and the whole map refused by the schema; undefined when none can be. */
export function wrongTypesFor(schema: z.ZodType): Record<string, unknown> | undefined {
  const shape = schema instanceof z.ZodObject ? (schema.shape as Record<string, z.ZodType>) : {};
  const wrong: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(shape)) {
    const value = WRONG_VALUES.find((v) => !field.safeParse(v).success);
    if (value !== undefined) wrong[key] = value;
  }
  if (!schema.safeParse(wrong).success) return wrong;
  // Nothing to get wrong (no typed fields): an unknown field, which a strict schema refuses.
  const withUnknown = { ...wrong, fuzz_unknown_field: 1 };
  return schema.safeParse(withUnknown).success ? undefined : withUnknown;
}

/** Known fields of the admin subjects (README's subject table) with wrong types. */
const MODEL_WRONG: Record<string, Record<string, unknown>> = {
  list: { filter: 'everything' },
  get: { guid: 12345 },
  delete: { guid: 12345 },
  create: { name: 12345, storagerouter_guid: 12345, domain_guid: true, backup: 'yes', vpool_guid: [1], capacity: 'lots' },
};
const CONFIG_WRONG: Record<string, Record<string, unknown>> = { get: { key: 12345 }, set: { key: 12345, value: 1 }, list: { key: 12345 } };
const UPDATE_WRONG: Record<string, Record<string, unknown>> = { status: { source: 12345 }, install: { source: 12345 }, restart: { version: 12345 } };

export function fuzzTargets(c: FuzzContext): FuzzTarget[] {
  const tasks = [...buildTaskTable({ testTasks: true }).values()];
  const types = MODEL_TYPES.map((t) => t.name);
  const out: FuzzTarget[] = [];
  const add = (subject: string, family: FuzzTarget['family'], wrongTypes?: Record<string, unknown>): void => {
    out.push({ subject, family, ...(wrongTypes ? { wrongTypes } : {}) });
  };
  for (const def of tasks) add(taskSubject(fullName(def)), 'task', wrongTypesFor(def.params));
  add(TASK_RESULT, 'task-result', { task_id: 12345, wait_ms: 'forever' });
  for (const type of types) for (const op of MODEL_OPERATIONS) add(modelSubject(type, op), 'model', MODEL_WRONG[op]);
  for (const op of CONFIG_OPERATIONS) add(configSubject(op), 'config', CONFIG_WRONG[op]);
  add('ovs.task.fuzz.no_such_task', 'unknown');
  add('ovs.model.fuzz_no_such_type.list', 'unknown');
  add('ovs.config.fuzz_no_such_op', 'unknown');
  for (const sr of c.storagerouters) {
    for (const def of tasks) add(nodeTaskSubject(sr, fullName(def)), 'node-task', wrongTypesFor(def.params));
    for (const type of types) for (const op of MODEL_OPERATIONS) add(nodeModelSubject(sr, type, op), 'node-model', MODEL_WRONG[op]);
    for (const op of OPS_OPERATIONS) add(opsSubject(sr, op), 'ops', { fuzz_unknown_field: 1 });
    for (const op of UPDATE_OPERATIONS) add(updateSubject(sr, op), 'update', UPDATE_WRONG[op]);
    add(`ovs.node.${sr}.update.fuzz_no_such_op`, 'unknown');
    add(`ovs.node.${sr}.task.fuzz.no_such_task`, 'unknown');
  }
  for (const sr of c.testMode) {
    for (const op of TEST_OPERATIONS) add(testSubject(sr, op), 'test', wrongTypesFor(TEST_PARAMS[op]));
    add(`ovs.node.${sr}.test.fuzz.no_such_op`, 'unknown');
  }
  for (const sd of c.storagedrivers) {
    for (const method of [...VOLDRV_METHODS, 'registrations']) add(voldrvSubject(sd.storagerouter_guid, sd.guid, method), 'voldrv', { volume_id: 12345, snapshot_id: true, fuzz_unknown_field: 1 });
    add(voldrvSubject(sd.storagerouter_guid, sd.guid, 'fuzz_no_such_method'), 'unknown');
  }
  for (const address of c.mdsAddresses) add(mdsSubject(address), 'mds');
  return out;
}

/** A model reader over lists fetched once (enough for the address helpers the agents use themselves). */
function readerOf(lists: Record<string, ModelObject[]>): ModelReader {
  const find = (type: string, guid: string): ModelObject | undefined => lists[type]?.find((o) => o.guid === guid);
  return {
    find,
    get: (type, guid) => {
      const o = find(type, guid);
      if (!o) throw new Error(`${type} ${guid} not in the fetched model`);
      return o;
    },
    list: (type, filter = {}) => (lists[type] ?? []).filter((o) => Object.entries(filter).every(([k, v]) => o[k] === v)),
    reverse: () => [],
  };
}

/** The cluster as the fuzz needs it, read from the live model; test mode is found by asking each agent. */
export async function clusterContext(nc: NatsConnection): Promise<FuzzContext> {
  const lists: Record<string, ModelObject[]> = {};
  for (const type of ['storagerouter', 'storagedriver', 'mdsservice', 'service']) lists[type] = await request<ModelObject[]>(nc, modelSubject(type, 'list'), {});
  const reader = readerOf(lists);
  const storagerouters = lists.storagerouter!.map((o) => o.guid);
  const testMode: string[] = [];
  for (const sr of storagerouters) {
    try {
      await nc.request(testSubject(sr, 'fault.list'), new Uint8Array(), { timeout: 2_000 });
      testMode.push(sr);
    } catch {
      // no responder: not in test mode
    }
  }
  return {
    storagerouters,
    storagedrivers: lists.storagedriver!.map((o) => ({ guid: o.guid, storagerouter_guid: String(o.storagerouter_guid) })),
    mdsAddresses: [...new Set(lists.mdsservice!.map((m) => mdsAddress(reader, m)).filter((a): a is string => a !== undefined))],
    testMode,
  };
}

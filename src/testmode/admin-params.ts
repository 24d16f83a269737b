import { z } from 'zod';
import { parseWith } from '../transport/validate.js';
import { guid } from '../tasks/params.js';
import { FAULT_POINTS } from './faults.js';

/** Parameters of the test-mode admin subjects (`ovs.node.<sr>.test.*`). */
const point = z.enum(FAULT_POINTS);
const type = z.string().min(1).max(64);

export const TEST_PARAMS = {
  'fault.arm': z.object({ point, match: z.string().max(1024), times: z.number().int().min(1).optional() }).strict(),
  'fault.clear': z.object({ point: point.optional() }).strict(),
  'fault.list': z.object({}).strict(),
  'model.put': z.object({ type, guid: guid.optional(), props: z.record(z.string(), z.unknown()) }).strict(),
  'model.delete': z.object({ type, guid }).strict(),
} as const;

export type TestParams = { [K in keyof typeof TEST_PARAMS]: z.infer<(typeof TEST_PARAMS)[K]> };

export function parseTestParams<K extends keyof typeof TEST_PARAMS>(op: K, params: Record<string, unknown>): TestParams[K] {
  return parseWith(TEST_PARAMS[op], params, `test.${op}`) as TestParams[K];
}

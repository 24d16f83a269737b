import type { z } from 'zod';
import { ValidationError } from '../errors.js';
import { fullName, type TaskDef } from '../tasks/define.js';

/** Checks parameters against a schema; the parsed value (defaults applied) is what runs. `what` names the operation. */
export function parseWith<S extends z.ZodType>(schema: S, params: Record<string, unknown>, what: string): z.infer<S> {
  const parsed = schema.safeParse(params);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(body)', message: i.message }));
  throw new ValidationError(`invalid parameters for ${what}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
}

/** Checks parameters against the task's declared schema. */
export function validateParams(def: TaskDef, params: Record<string, unknown>): Record<string, unknown> {
  return parseWith(def.params, params, fullName(def)) as Record<string, unknown>;
}

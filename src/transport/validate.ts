import { ValidationError } from '../errors.js';
import { fullName, type TaskDef } from '../tasks/define.js';

/** Checks parameters against the task's declared schema; the parsed value (defaults applied) is what runs. */
export function validateParams(def: TaskDef, params: Record<string, unknown>): Record<string, unknown> {
  const parsed = def.params.safeParse(params);
  if (parsed.success) return parsed.data as Record<string, unknown>;
  const issues = parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(body)', message: i.message }));
  throw new ValidationError(`invalid parameters for ${fullName(def)}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
}

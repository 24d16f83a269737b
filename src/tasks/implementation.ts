import type { Owner, TaskDef } from './define.js';
import type { TaskContext } from './context.js';

/** A handler for a task declared in the catalog; may refine where the task runs. */
export interface Implementation {
  owner?: Owner;
  handler: (params: any, ctx: TaskContext) => Promise<unknown>;
}

/** The catalog's declaration with its handler: one table entry, declared once, implemented elsewhere. */
export function implement(def: TaskDef, impl: Implementation): TaskDef {
  return { ...def, owner: impl.owner ?? def.owner, handler: impl.handler, pending: undefined };
}

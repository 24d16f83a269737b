import type { z } from 'zod';
import type { TaskContext } from './context.js';
import type { AnyOwnerResource, OwnerResources } from './owner-resources.js';

/**
 * ensure_single modes of the original (`shared/spec/tasks-vdisk-mds-vpool.md` §1), applied by the owning actor's
 * mailbox: NONE runs everything concurrently; DEFAULT drops a request while one runs; DEDUPED keeps one running and
 * one pending per argument key; CHAINED is one FIFO for the task name with DEDUPED's per-key coalescing.
 */
export type EnsureSingleMode = 'NONE' | 'DEFAULT' | 'DEDUPED' | 'CHAINED';

export interface EnsureSingle {
  mode: EnsureSingleMode;
  /** Parameters left out of the dedupe key (the original's `ignore_arguments`). */
  ignoreArguments?: readonly string[];
  /** How long a pending call may wait for its turn (the original's `global_timeout`, default 300 s). */
  startTimeoutMs?: number;
  /**
   * DEFAULT only: full names of tasks at the same owner whose run also makes this one discarded (the original's
   * `extra_task_names`).
   */
  extraTaskNames?: readonly string[];
}

/**
 * Where a task runs. The router reads this; nothing else decides ownership.
 * - `node`: pinned to the StorageRouter whose guid is in `param`.
 * - `cluster`: the cluster singleton (one agent holds its lease).
 * - `vpool`: the singleton actor of the vPool whose guid is in `param`.
 * - `vdisk`: the actor of the vDisk whose guid is in `param`, under its StorageDriver on that node.
 * - `storagedriver`: the actor of the StorageDriver whose guid is in `param`, on its node.
 * - `any`: answered by whichever agent receives it (fan-outs that only call other owners, reads of the model).
 */
export type Owner =
  | { kind: 'node'; param: string }
  | { kind: 'cluster' }
  | { kind: 'vpool'; param: string }
  | { kind: 'vdisk'; param: string }
  | { kind: 'storagedriver'; param: string }
  | { kind: 'any' };

export type OwnerKind = Owner['kind'];

/** A handler as the invocation path calls it: parameters already validated, the owner's resources at hand. */
export type TaskHandler = (params: Record<string, unknown>, ctx: TaskContext<AnyOwnerResource>) => Promise<unknown>;

/** One task of the table. Built only by {@link defineTask}; `handler` and `pending` exclude each other. */
export interface TaskDef {
  /** Seed section in lower case: `storagerouter`, `disk`, `vdisk`, ... */
  readonly module: string;
  /** Seed task name: `get_version_info`. */
  readonly name: string;
  /** One line for the CLI and the docs. */
  readonly summary: string;
  /** The seed's parameters by their seed names. */
  readonly params: z.ZodType;
  readonly owner: Owner;
  readonly ensureSingle: EnsureSingle;
  readonly handler?: TaskHandler;
  /** Why the task is declared but has no handler yet (answered as NOT_IMPLEMENTED). */
  readonly pending?: string;
  /** Only registered when the agent runs with test tasks enabled. */
  readonly testOnly?: boolean;
}

interface Declaration<S extends z.ZodType, O extends Owner> {
  module: string;
  name: string;
  summary: string;
  params: S;
  owner: O;
  ensureSingle?: EnsureSingle;
  testOnly?: boolean;
}

type Implemented<S extends z.ZodType, O extends Owner> = Declaration<S, O> & {
  handler: (params: z.infer<S>, ctx: TaskContext<OwnerResources[O['kind']]>) => Promise<unknown>;
  pending?: never;
};

type Pending<S extends z.ZodType, O extends Owner> = Declaration<S, O> & { pending: string; handler?: never };

/**
 * Declares a task: its name, the zod schema of the seed's parameters, its owner, its ensure_single mode and either a
 * handler typed from the schema and the owner, or the reason it is still pending.
 */
export function defineTask<S extends z.ZodType, const O extends Owner>(def: Implemented<S, O> | Pending<S, O>): TaskDef {
  const { handler, pending, ensureSingle, ...rest } = def;
  return {
    ...rest,
    ensureSingle: ensureSingle ?? { mode: 'NONE' },
    // The invocation path validates with `params` and resolves the owner of `owner.kind` before it calls, so the
    // erased signature holds what the typed one promises.
    ...(handler ? { handler: handler as unknown as TaskHandler } : { pending }),
  };
}

export function fullName(def: Pick<TaskDef, 'module' | 'name'>): string {
  return `${def.module}.${def.name}`;
}

import type { z } from 'zod';
import type { TaskContext } from './context.js';

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
}

/**
 * Where a task runs. The router reads this; nothing else decides ownership.
 * - `node`: pinned to the StorageRouter whose guid is in `param`.
 * - `cluster`: the cluster singleton (one agent holds its lease).
 * - `vpool`: the singleton actor of the vPool whose guid is in `param`.
 * - `vdisk`: the owner of the vDisk whose guid is in `param` (its StorageDriver's node).
 * - `storagedriver`: the StorageDriver whose guid is in `param`, on its node.
 * - `any`: answered by whichever agent receives it.
 */
export type Owner =
  | { kind: 'node'; param: string }
  | { kind: 'cluster' }
  | { kind: 'vpool'; param: string }
  | { kind: 'vdisk'; param: string }
  | { kind: 'storagedriver'; param: string }
  | { kind: 'any' };

export interface TaskDef<S extends z.ZodType = z.ZodType> {
  /** Seed section in lower case: `storagerouter`, `disk`, `vdisk`, ... */
  module: string;
  /** Seed task name: `get_version_info`. */
  name: string;
  /** One line for the CLI and the docs. */
  summary: string;
  /** The seed's parameters by their seed names. */
  params: S;
  owner: Owner;
  ensureSingle: EnsureSingle;
  /** Absent while the task is declared but arrives with a later issue; `pending` then says why. */
  handler?: (params: z.infer<S>, ctx: TaskContext) => Promise<unknown>;
  pending?: string;
  /** Only registered when the agent runs with test tasks enabled. */
  testOnly?: boolean;
}

export function defineTask<S extends z.ZodType>(def: Omit<TaskDef<S>, 'ensureSingle'> & { ensureSingle?: EnsureSingle }): TaskDef<S> {
  return { ...def, ensureSingle: def.ensureSingle ?? { mode: 'NONE' } };
}

export function fullName(def: Pick<TaskDef, 'module' | 'name'>): string {
  return `${def.module}.${def.name}`;
}

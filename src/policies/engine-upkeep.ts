/**
 * What the upkeep of the JetStream buckets and streams removes (generic.collapse_arakoon), decided from what the
 * stream says about each key: pure, the clock injected as `nowMs`.
 */

export type KvOperation = 'PUT' | 'DEL' | 'PURGE';

/** The newest message of one KV key and how many messages the stream still holds for it. */
export interface KeyState {
  key: string;
  /** Stream sequence (the KV revision) of the newest message of the key. */
  seq: number;
  operation: KvOperation;
  createdMs: number;
  /** Messages of this key in the stream (history and markers included). */
  messages: number;
}

/**
 * One purge of one key's subject: every message of it below `belowSeq` goes. Purging below a sequence, never "all of
 * the subject", is what keeps a value written after the plan was made.
 */
export interface KeyPurge {
  key: string;
  belowSeq: number;
  reason: 'history' | 'delete_marker' | 'task_result';
}

/**
 * History: every key keeps only its newest message. Delete and purge markers older than `markerKeepMs` go with
 * everything before them (younger ones stay, so that a reader that saw the key a moment ago still learns it was deleted).
 */
export function planKeyPurges(keys: readonly KeyState[], nowMs: number, markerKeepMs: number): KeyPurge[] {
  const out: KeyPurge[] = [];
  for (const k of keys) {
    if (k.operation !== 'PUT' && nowMs - k.createdMs >= markerKeepMs) out.push({ key: k.key, belowSeq: k.seq + 1, reason: 'delete_marker' });
    else if (k.messages > 1) out.push({ key: k.key, belowSeq: k.seq, reason: 'history' });
  }
  return out;
}

/** What a task-result record says about itself (src/transport/task-results.ts). */
export interface TaskResultState {
  status: string;
  finished_at?: number;
}

/** A finished task's outcome is dropped `keepMs` after it finished; a running one stays until the bucket's TTL. */
export function taskResultExpired(rec: TaskResultState, nowMs: number, keepMs: number): boolean {
  if (rec.status === 'RUNNING' || typeof rec.finished_at !== 'number') return false;
  return nowMs - rec.finished_at >= keepMs;
}

export interface ConsumerFloor {
  name: string;
  durable: boolean;
  /** Highest stream sequence below which every message is acknowledged by this consumer. */
  ackFloorSeq: number;
}

/**
 * The first stream sequence to keep: messages below it are acknowledged by every durable consumer. Undefined when the
 * stream has no durable consumer: then nobody has said which events were handled, and they stay for the stream's max age.
 */
export function firstUnacknowledged(consumers: readonly ConsumerFloor[]): number | undefined {
  const durables = consumers.filter((c) => c.durable);
  if (durables.length === 0) return undefined;
  return Math.min(...durables.map((c) => c.ackFloorSeq)) + 1;
}

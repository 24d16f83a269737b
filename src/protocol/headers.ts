import { headers as natsHeaders, type MsgHdrs } from 'nats';

/** Request/reply headers of the public contract. */
export const H = {
  contentType: 'Content-Type',
  /** Absolute deadline, epoch milliseconds. */
  deadline: 'Ovs-Deadline',
  /** Relative timeout in milliseconds (converted to a deadline on arrival). */
  timeout: 'Ovs-Timeout-Ms',
  async: 'Ovs-Async',
  taskId: 'Ovs-Task-Id',
  /** Set on forwarded requests so the receiver executes instead of routing again. */
  forwarded: 'Ovs-Forwarded',
  /** StorageRouter guid of the agent that executed the request. */
  servedBy: 'Ovs-Served-By',
  /**
   * How long this request may wait for its ensure_single turn, in milliseconds (the original's per-call
   * `ensure_single_timeout`); DEDUPED/CHAINED only, the task's own start timeout otherwise.
   */
  ensureSingleTimeout: 'Ovs-Ensure-Single-Timeout-Ms',
  /** A retried mutation with the same key (same task) answers the first attempt's outcome instead of running again. */
  idempotencyKey: 'Ovs-Idempotency-Key',
  /** Reply header, `1` when the outcome is the first attempt's (this request did not run the task). */
  idempotentReplay: 'Ovs-Idempotent-Replay',
} as const;

export const DEFAULT_DEADLINE_MS = 300_000;

/** Deadline of a request: explicit header, else a relative timeout, else the default. */
export function deadlineOf(h: MsgHdrs | undefined, now = Date.now()): number {
  const abs = Number(h?.get(H.deadline));
  if (Number.isFinite(abs) && abs > 0) return abs;
  const rel = Number(h?.get(H.timeout));
  if (Number.isFinite(rel) && rel > 0) return now + rel;
  return now + DEFAULT_DEADLINE_MS;
}

/** The per-request ensure_single wait, when the request sets a positive one. */
export function ensureSingleTimeoutOf(h: MsgHdrs | undefined): number | undefined {
  const ms = Number(h?.get(H.ensureSingleTimeout));
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

export function headersOf(entries: Record<string, string | undefined>): MsgHdrs {
  const h = natsHeaders();
  for (const [k, v] of Object.entries(entries)) if (v !== undefined) h.set(k, v);
  return h;
}

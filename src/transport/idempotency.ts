import { createHash, randomUUID } from 'node:crypto';
import type { KV, MsgHdrs } from 'nats';
import type { Logger } from 'pino';
import { BadRequestError, DeadlineExceededError, NotAvailableError, IdempotencyKeyReusedError, IdempotencyOutcomeUnknownError, asOvsError, fromWire, type WireError } from '../errors.js';
import { decode, encode } from '../protocol/codec.js';
import { H } from '../protocol/headers.js';
import { isWrongLastSequence } from '../model/kv-errors.js';
import { sleep } from '../supervisors/backoff.js';

const KEEP_OUTCOME_FOR_MS = 10 * 60_000;
const KEY_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request's idempotency key, when it sends one; a malformed key is a BAD_REQUEST, not a request without one. */
export function idempotencyKeyOf(h: MsgHdrs | undefined): string | undefined {
  const key = h?.get(H.idempotencyKey);
  if (key === undefined || key === '') return h?.has(H.idempotencyKey) ? badKey(key ?? '') : undefined;
  return KEY_PATTERN.test(key) ? key : badKey(key);
}

function badKey(key: string): never {
  throw new BadRequestError(`${H.idempotencyKey} must be 1 to 128 characters of A-Z a-z 0-9 . _ : -`, { key: key.slice(0, 200) });
}

/** One idempotent request: the same task and key name one run; `paramsHash` tells a retry from a reuse. */
export interface IdempotencyScope {
  task: string;
  key: string;
  paramsHash: string;
}

/** A stable hash of (validated) parameters: map keys in any order hash alike. */
export function hashParams(params: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(canonical(params))).digest('hex');
}

function canonical(v: unknown): unknown {
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString('base64') };
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  return v;
}

/** The task id of an idempotent request: retries of one request (same task, key and parameters) share it. */
export function idempotentTaskId(s: IdempotencyScope): string {
  const h = createHash('sha256').update(`${s.task}\n${s.key}\n${s.paramsHash}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

type StoredOutcome = { ok: true; result: unknown } | { ok: false; error: WireError };

/** The claim of one idempotency key, kept next to the async task results (same bucket, same TTL). */
export interface ClaimRecord {
  task: string;
  key: string;
  params_hash: string;
  task_id: string;
  status: 'RUNNING' | 'DONE';
  /** The agent running the first attempt, and which life of it (a restarted agent does not finish its old runs). */
  storagerouter_guid: string;
  instance: string;
  claimed_at: number;
  /** Refreshed while the first attempt runs: a claim that stops being refreshed belongs to an agent that died. */
  alive_at: number;
  outcome?: StoredOutcome;
}

export interface ClaimTiming {
  refreshMs: number;
  staleMs: number;
}

/** What an idempotent request's executor is told: the key, the claims it is kept in, and a hook for replays. */
export interface IdempotentRequest {
  key: string;
  claims: IdempotencyClaims;
  /** Called when the outcome is the first attempt's, not this request's own run. */
  replayed(): void;
}

/**
 * Claims of idempotency keys: the first request claims its key (create-only) before it runs and keeps its outcome
 * there; a retry with the same key answers that outcome, waiting (within its deadline) while the first still runs.
 */
export class IdempotencyClaims {
  private readonly instance = randomUUID();

  constructor(private readonly kv: KV, private readonly me: string, private readonly log: Logger, private readonly timing: ClaimTiming = { refreshMs: 2_000, staleMs: 10_000 }) {}

  /** Runs `work` once per scope: the first caller runs it, every other caller gets the first caller's outcome. */
  async once(scope: IdempotencyScope, taskId: string, deadline: number, work: () => Promise<unknown>, onReplay: () => void): Promise<unknown> {
    const key = claimKey(scope);
    for (;;) {
      const now = Date.now();
      const claim: ClaimRecord = {
        task: scope.task, key: scope.key, params_hash: scope.paramsHash, task_id: taskId, status: 'RUNNING',
        storagerouter_guid: this.me, instance: this.instance, claimed_at: now, alive_at: now,
      };
      try {
        await this.kv.create(key, encode(claim));
      } catch (e) {
        if (!isWrongLastSequence(e)) throw new NotAvailableError('the idempotency claims cannot be written right now (JetStream unreachable)', { cause: String(e) });
        const first = await this.follow(key, scope, deadline);
        if (!first) continue; // the claim expired between our create and read: this request is the first now
        onReplay();
        if (first.ok) return first.result;
        throw fromWire(first.error);
      }
      return this.runClaimed(key, claim, work);
    }
  }

  /** Throws IDEMPOTENCY_KEY_REUSED when the key was claimed for other parameters (an async request checks before accepting). */
  async checkReuse(scope: IdempotencyScope): Promise<void> {
    const rec = await this.read(claimKey(scope)).catch((e: unknown) => {
      throw new NotAvailableError('the idempotency claims cannot be read right now (JetStream unreachable)', { cause: String(e) });
    });
    if (rec && rec.record.params_hash !== scope.paramsHash) throw new IdempotencyKeyReusedError(scope.task, scope.key);
  }

  private async runClaimed(key: string, claim: ClaimRecord, work: () => Promise<unknown>): Promise<unknown> {
    let writes = Promise.resolve();
    let finished = false;
    // One write at a time, in order: no refresh of the running claim lands after its outcome.
    const write = (rec: ClaimRecord): Promise<void> => (writes = writes.catch(() => undefined).then(async () => void (await this.kv.put(key, encode(rec)))));
    const alive = setInterval(() => {
      if (!finished) write({ ...claim, alive_at: Date.now() }).catch(() => undefined);
    }, this.timing.refreshMs);
    let outcome: StoredOutcome;
    let thrown: unknown;
    try {
      const value = await work();
      outcome = { ok: true, result: value ?? null };
    } catch (error) {
      thrown = error;
      outcome = { ok: false, error: asOvsError(error).toWire() };
    }
    finished = true;
    clearInterval(alive);
    // Kept in the background (NATS may be away for a while), retried more often than a follower's patience for a stale claim.
    void this.keepOutcome(() => write({ ...claim, status: 'DONE', alive_at: Date.now(), outcome }), claim);
    if (outcome.ok) return outcome.result;
    throw thrown; // the first caller gets the error itself (with its cause for the log), retries its wire form
  }

  private async keepOutcome(put: () => Promise<void>, claim: ClaimRecord): Promise<void> {
    // Bounded: an outcome that cannot be kept (too large for the bucket) leaves the claim to go stale (OUTCOME_UNKNOWN).
    const giveUpAt = Date.now() + KEEP_OUTCOME_FOR_MS;
    for (let attempt = 0; Date.now() < giveUpAt; attempt++) {
      try {
        await put();
        return;
      } catch (err) {
        if (attempt === 0 || Date.now() + 1_000 >= giveUpAt) this.log.warn({ err, task: claim.task, task_id: claim.task_id }, 'could not keep the outcome of an idempotent request yet; retrying');
        await sleep(Math.min(200 * 2 ** Math.min(attempt, 5), 1_000));
      }
    }
  }

  /** Waits for the first attempt's outcome; undefined when its claim expired meanwhile. */
  private async follow(key: string, scope: IdempotencyScope, deadline: number): Promise<StoredOutcome | undefined> {
    let seen: { revision: number; since: number } | undefined;
    for (;;) {
      const entry = await this.read(key).catch(() => null); // JetStream away for a moment (a NATS restart): look again
      if (entry === undefined) return undefined;
      if (entry === null) {
        if (Date.now() >= deadline) throw new DeadlineExceededError(deadline, 'reading the first attempt of an idempotent request');
        await sleep(Math.min(200, Math.max(0, deadline - Date.now())));
        continue;
      }
      const rec = entry.record;
      if (rec.params_hash !== scope.paramsHash) throw new IdempotencyKeyReusedError(scope.task, scope.key);
      if (rec.status === 'DONE' && rec.outcome) return rec.outcome;
      const now = Date.now();
      if (!seen || seen.revision !== entry.revision) seen = { revision: entry.revision, since: now };
      if (this.abandoned(rec, now - seen.since)) throw new IdempotencyOutcomeUnknownError(rec.task, rec.key, rec.task_id, rec.storagerouter_guid);
      if (now >= deadline) throw new DeadlineExceededError(deadline, 'waiting for the first attempt of an idempotent request');
      await sleep(Math.min(100, Math.max(0, deadline - now)));
    }
  }

  /**
   * A running claim no agent will finish: claimed by an earlier life of this agent, or not refreshed for `staleMs`
   * while we watched it unchanged for two refresh periods (an agent cut off from NATS for a while refreshes once back).
   */
  private abandoned(rec: ClaimRecord, unchangedForMs: number): boolean {
    if (rec.storagerouter_guid === this.me && rec.instance !== this.instance) return true;
    return Date.now() - rec.alive_at > this.timing.staleMs && unchangedForMs >= 2 * this.timing.refreshMs;
  }

  private async read(key: string): Promise<{ record: ClaimRecord; revision: number } | undefined> {
    const e = await this.kv.get(key);
    return e && e.operation === 'PUT' ? { record: decode(e.value) as ClaimRecord, revision: e.revision } : undefined;
  }
}

/** Claims live in the task results' bucket under `idem.`; hashing keeps any task name and key a valid KV key. */
export function claimKey(s: IdempotencyScope): string {
  return `idem.${createHash('sha256').update(`${s.task}\n${s.key}`).digest('hex')}`;
}

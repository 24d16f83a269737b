import type { JetStreamClient, JetStreamManager } from 'nats';
import { z } from 'zod';
import type { ConfigStore } from '../config/store.js';
import { EngineConfigError } from '../errors.js';
import { decode } from '../protocol/codec.js';
import { firstUnacknowledged, planKeyPurges, taskResultExpired, type KeyPurge, type TaskResultState } from '../policies/engine-upkeep.js';
import { keyStates } from './key-states.js';
import { kvStream, kvSubject } from './resources.js';

export const UPKEEP_CONFIG_KEY = '/ovs/framework/upkeep';

const upkeepConfig = z.object({
  delete_markers_keep_s: z.number().int().min(0).max(365 * 86400).default(1800),
  task_results_keep_s: z.number().int().min(0).max(365 * 86400).default(6 * 3600),
}).strict();

export type UpkeepConfig = z.infer<typeof upkeepConfig>;

export async function readUpkeepConfig(config: ConfigStore): Promise<UpkeepConfig> {
  const raw = await config.get(UPKEEP_CONFIG_KEY, {});
  const parsed = upkeepConfig.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(value)'}: ${i.message}`);
    throw new EngineConfigError(`${UPKEEP_CONFIG_KEY} is malformed: ${issues.join('; ')}`, { key: UPKEEP_CONFIG_KEY, issues });
  }
  return parsed.data;
}

export interface BucketUpkeep {
  messages_before: number;
  messages_after: number;
  bytes_before: number;
  bytes_after: number;
  bytes_removed: number;
  /** Keys purged, by why. */
  purged: Record<KeyPurge['reason'], number>;
}

export interface StreamUpkeep {
  messages_before: number;
  messages_after: number;
  bytes_removed: number;
  /** First sequence kept (every durable consumer acknowledged the ones below); null when the stream has none. */
  first_kept: number | null;
  durable_consumers: number;
}

export interface UpkeepDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  now: () => number;
}

/** Compacts one KV bucket: old history, old delete markers and (for the task-result bucket) expired outcomes. */
export async function compactBucket(d: UpkeepDeps, bucket: string, cfg: UpkeepConfig, taskResults: boolean): Promise<BucketUpkeep | undefined> {
  const stream = kvStream(bucket);
  const before = await streamState(d.jsm, stream);
  if (!before) return undefined;
  const now = d.now();
  const states = await keyStates(d.js, d.jsm, bucket, taskResults);
  const purges = planKeyPurges(states, now, cfg.delete_markers_keep_s * 1000);
  if (taskResults) {
    const planned = new Set(purges.map((p) => p.key));
    for (const s of states) {
      if (planned.has(s.key) || s.operation !== 'PUT' || !s.value) continue;
      if (taskResultExpired(taskRecord(s.value), now, cfg.task_results_keep_s * 1000)) purges.push({ key: s.key, belowSeq: s.seq + 1, reason: 'task_result' });
    }
  }
  const purged: Record<KeyPurge['reason'], number> = { history: 0, delete_marker: 0, task_result: 0 };
  for (const p of purges) {
    await d.jsm.streams.purge(stream, { filter: kvSubject(bucket, p.key), seq: p.belowSeq });
    purged[p.reason] += 1;
  }
  const after = (await streamState(d.jsm, stream)) ?? { messages: 0, bytes: 0 };
  return {
    messages_before: before.messages, messages_after: after.messages,
    bytes_before: before.bytes, bytes_after: after.bytes, bytes_removed: Math.max(0, before.bytes - after.bytes),
    purged,
  };
}

/** Drops the events of a stream that every durable consumer acknowledged. */
export async function purgeAcknowledged(d: UpkeepDeps, stream: string): Promise<StreamUpkeep | undefined> {
  const before = await streamState(d.jsm, stream);
  if (!before) return undefined;
  const floors = [];
  for await (const c of d.jsm.consumers.list(stream)) {
    floors.push({ name: c.name, durable: Boolean(c.config.durable_name), ackFloorSeq: c.ack_floor.stream_seq });
  }
  const firstKept = firstUnacknowledged(floors);
  if (firstKept !== undefined && firstKept > before.firstSeq) await d.jsm.streams.purge(stream, { seq: firstKept });
  const after = (await streamState(d.jsm, stream)) ?? before;
  return {
    messages_before: before.messages, messages_after: after.messages, bytes_removed: Math.max(0, before.bytes - after.bytes),
    first_kept: firstKept ?? null, durable_consumers: floors.filter((f) => f.durable).length,
  };
}

async function streamState(jsm: JetStreamManager, stream: string): Promise<{ messages: number; bytes: number; firstSeq: number } | undefined> {
  try {
    const { state } = await jsm.streams.info(stream);
    return { messages: state.messages, bytes: state.bytes, firstSeq: state.first_seq };
  } catch (e) {
    if (isStreamNotFound(e)) return undefined;
    throw e;
  }
}

export function isStreamNotFound(e: unknown): boolean {
  const err = e as { api_error?: { err_code?: number }; message?: string } | undefined;
  return err?.api_error?.err_code === 10059 || /stream not found/i.test(err?.message ?? '');
}

/** A record this agent cannot read is not ours to judge: it stays until the bucket's TTL. */
function taskRecord(value: Uint8Array): TaskResultState {
  try {
    const rec = decode(value) as Partial<TaskResultState> | null;
    return { status: typeof rec?.status === 'string' ? rec.status : 'RUNNING', ...(typeof rec?.finished_at === 'number' ? { finished_at: rec.finished_at } : {}) };
  } catch {
    return { status: 'RUNNING' };
  }
}

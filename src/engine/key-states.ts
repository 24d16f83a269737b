import type { JetStreamClient, JetStreamManager, KV, KvEntry } from 'nats';
import type { KeyState } from '../policies/engine-upkeep.js';
import { kvStream } from './resources.js';

/**
 * The newest message of every key of a bucket (markers included) and how many messages each key has: a watch of the
 * last values (headers only unless the values are needed) and the stream's per-subject counts.
 */
export async function keyStates(js: JetStreamClient, jsm: JetStreamManager, bucket: string, withValues = false): Promise<Array<KeyState & { value?: Uint8Array }>> {
  const info = await jsm.streams.info(kvStream(bucket), { subjects_filter: '>' });
  if (info.state.messages === 0) return [];
  const counts = info.state.subjects ?? {};
  const kv: KV = await js.views.kv(bucket, { bindOnly: true });
  const last = await lastEntries(kv, withValues);
  const prefix = `$KV.${bucket}.`;
  return last.map((e) => ({
    key: e.key,
    seq: e.revision,
    operation: e.operation,
    createdMs: e.created.getTime(),
    messages: counts[`${prefix}${e.key}`] ?? 1,
    ...(withValues ? { value: e.value } : {}),
  }));
}

async function lastEntries(kv: KV, withValues: boolean): Promise<KvEntry[]> {
  const out: KvEntry[] = [];
  // The watcher calls initializedFn in order, right after the last of the initial values.
  const watcher = await kv.watch({ key: '>', headers_only: !withValues, initializedFn: () => watcher.stop() });
  for await (const e of watcher) out.push(e);
  return out;
}

import type { MsgHdrs, NatsConnection, RequestOptions } from 'nats';
import { DeadlineExceededError, InternalError, fromWire, type WireError } from '../errors.js';
import { routingFailure } from '../errors/routing-failure.js';
import { decode } from '../protocol/codec.js';

/**
 * A request to the agent of one StorageRouter, answered with our envelope: the result, or the agent's error restored
 * as its own class. No responder is a retryable NOT_AVAILABLE; no answer in time is DEADLINE_EXCEEDED.
 */
export async function requestNode(
  nc: NatsConnection, node: string, subject: string, body: Uint8Array,
  { onReplyHeaders, ...opts }: Partial<RequestOptions> & { timeout: number; deadline: number; onReplyHeaders?: (h: MsgHdrs | undefined) => void },
): Promise<unknown> {
  let reply;
  try {
    reply = await nc.request(subject, body, opts);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === '503') throw routingFailure(`StorageRouter ${node} is not reachable (no agent answers for it)`, { storagerouter_guid: node });
    if (code === 'TIMEOUT') throw new DeadlineExceededError(opts.deadline, `waiting for StorageRouter ${node}`);
    throw e;
  }
  onReplyHeaders?.(reply.headers);
  const answer = decode(reply.data) as { ok: boolean; result?: unknown; error?: WireError };
  if (answer.ok) return answer.result;
  throw answer.error ? fromWire(answer.error) : new InternalError(`malformed reply from StorageRouter ${node}`);
}

import type { Msg } from 'nats';
import { asOvsError, type OvsError } from '../errors.js';
import { encode, encodingOf, type Encoding } from '../protocol/codec.js';
import { H, headersOf } from '../protocol/headers.js';

export type Reply = { ok: true; result: unknown } | { ok: false; error: ReturnType<OvsError['toWire']> };

export interface HandlerOutcome {
  reply: Reply;
  error?: OvsError;
}

/**
 * The one place a reply is sent. Whatever the handler does (returns, throws, returns something unencodable),
 * the requester gets `{ok, result | error}` in the encoding it used.
 */
export async function replyTo(msg: Msg, me: string, work: (encoding: Encoding) => Promise<unknown>): Promise<HandlerOutcome> {
  const encoding = encodingOf(msg.headers?.get(H.contentType));
  let outcome: HandlerOutcome;
  try {
    outcome = { reply: { ok: true, result: (await work(encoding)) ?? null } };
  } catch (e) {
    const error = asOvsError(e);
    outcome = { reply: { ok: false, error: error.toWire() }, error };
  }
  if (!msg.reply) return outcome;
  const headers = headersOf({ [H.servedBy]: me, [H.contentType]: encoding === 'json' ? 'application/json' : 'application/msgpack' });
  let body: Uint8Array;
  try {
    body = encode(outcome.reply, encoding);
  } catch (e) {
    const error = asOvsError(e);
    outcome = { reply: { ok: false, error: error.toWire() }, error };
    body = encode(outcome.reply, encoding);
  }
  msg.respond(body, { headers });
  return outcome;
}

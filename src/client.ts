import { connect, type MsgHdrs, type NatsConnection } from 'nats';
import { natsConnectOptions, type NatsAuth } from './config/nats-auth.js';
import { fromWire, type WireError } from './errors.js';
import { fromNatsError } from './errors/security.js';
import { decode, encode, type Encoding } from './protocol/codec.js';
import { H, headersOf } from './protocol/headers.js';

export interface RequestOptions {
  timeoutMs?: number;
  encoding?: Encoding;
  headers?: Record<string, string>;
  /** Sets `Ovs-Idempotency-Key`: a retry with the same key answers the first attempt's outcome instead of running again. */
  idempotencyKey?: string;
}

export function defaultNatsUrl(): string {
  return process.env.OVS_NATS_URL || 'nats://127.0.0.1:4222';
}

/** `auth` is checked before connecting; a refused connection throws AUTHENTICATION_FAILED. */
export async function connectClient(url = defaultNatsUrl(), auth: NatsAuth = {}): Promise<NatsConnection> {
  const options = natsConnectOptions(auth);
  try {
    return await connect({ servers: url.split(','), timeout: 5_000, ...options });
  } catch (e) {
    throw fromNatsError(e);
  }
}

/** Sends a request of the public contract and returns its result, or throws the typed error it carried. */
export async function request<T = unknown>(nc: NatsConnection, subject: string, params: Record<string, unknown> = {}, opts: RequestOptions = {}): Promise<T> {
  const { body } = await requestRaw(nc, subject, params, opts);
  if (body.ok) return body.result as T;
  throw fromWire(body.error!);
}

export async function requestRaw(
  nc: NatsConnection,
  subject: string,
  params: Record<string, unknown> | Uint8Array,
  opts: RequestOptions = {},
): Promise<{ body: { ok: boolean; result?: unknown; error?: WireError }; headers: MsgHdrs | undefined }> {
  const encoding = opts.encoding ?? 'msgpack';
  const timeout = opts.timeoutMs ?? 60_000;
  const headers = headersOf({
    ...(encoding === 'json' ? { [H.contentType]: 'application/json' } : {}),
    [H.timeout]: String(timeout),
    ...(opts.idempotencyKey !== undefined ? { [H.idempotencyKey]: opts.idempotencyKey } : {}),
    ...opts.headers,
  });
  const data = params instanceof Uint8Array ? params : encode(params, encoding);
  // A subject outside this user's permissions is refused by the server: PERMISSION_DENIED, not a timeout.
  const reply = await nc.request(subject, data, { timeout: timeout + 1_000, headers }).catch((e: unknown) => {
    throw fromNatsError(e);
  });
  const body = decode(reply.data, encoding) as { ok: boolean; result?: unknown; error?: WireError };
  return { body, headers: reply.headers };
}

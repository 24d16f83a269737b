import './all.js';
import { InternalError, NotAvailableError } from './control.js';
import { type ErrorDetails, OvsError, type WireError, registeredType } from './registry.js';

/** Rebuild an error from its wire form as its own class; a type this process does not know (a newer agent's) stays an OvsError. */
export function fromWire(w: WireError): OvsError {
  const e = new OvsError(String(w.message), { type: String(w.type), retryable: Boolean(w.retryable), details: asDetails(w.details) });
  const known = registeredType(e.type);
  if (known) {
    // Not `new`: constructors build messages from arguments, and the wire already carries the message and details.
    Object.setPrototypeOf(e, known.errorClass.prototype as object);
    e.name = known.errorClass.name;
  }
  return e;
}

/** nats.js codes of the coordination engine not answering: a timeout, no responders, a connection going or gone. */
const ENGINE_UNAVAILABLE = new Set(['TIMEOUT', '503', 'DISCONNECT', 'CONNECTION_CLOSED', 'CONNECTION_DRAINING', 'CONNECTION_REFUSED']);

/**
 * A NATS or JetStream failure that says the engine is not answering right now (a server restarting, a JetStream
 * cluster without quorum or electing its leader): retryable NOT_AVAILABLE rather than a bug; undefined otherwise.
 */
export function engineUnavailable(e: unknown): NotAvailableError | undefined {
  if (!(e instanceof Error)) return undefined;
  const raw = (e as { code?: unknown }).code;
  const code = typeof raw === 'string' || typeof raw === 'number' ? String(raw) : '';
  const api = (e as { api_error?: { code?: number; description?: string } }).api_error;
  if (!ENGINE_UNAVAILABLE.has(code) && api?.code !== 503) return undefined;
  const what = api?.description ?? (code === 'TIMEOUT' ? 'no answer in time' : code);
  return new NotAvailableError(`NATS JetStream is not answering (${what}): a server may be restarting or the cluster has no quorum; retry`, { engine: 'nats', code: code || String(api?.code) });
}

/** Anything thrown becomes an OvsError; engine outages are a retryable NOT_AVAILABLE; other throwables are INTERNAL, never lost. */
export function asOvsError(e: unknown): OvsError {
  if (e instanceof OvsError) return e;
  const unavailable = engineUnavailable(e);
  if (unavailable) return unavailable;
  if (e instanceof Error) return new InternalError(e.message, e);
  return new InternalError(String(e));
}

function asDetails(value: unknown): ErrorDetails {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as ErrorDetails) : {};
}

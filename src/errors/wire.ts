import './all.js';
import { InternalError } from './control.js';
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

/** Anything thrown becomes an OvsError; unknown throwables are INTERNAL, never lost. */
export function asOvsError(e: unknown): OvsError {
  if (e instanceof OvsError) return e;
  if (e instanceof Error) return new InternalError(e.message, e);
  return new InternalError(String(e));
}

function asDetails(value: unknown): ErrorDetails {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as ErrorDetails) : {};
}

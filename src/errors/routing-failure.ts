import { NotAvailableError } from './control.js';

const routing = new WeakSet<Error>();

/**
 * A NOT_AVAILABLE that says where a task should run is not reachable right now (no lease holder yet, an agent that
 * does not answer, an owner actor that stopped), as opposed to one a handler raised. Only these are retried while a
 * singleton's lease moves.
 */
export function routingFailure(message: string, details: Record<string, unknown> = {}): NotAvailableError {
  const e = new NotAvailableError(message, details);
  routing.add(e);
  return e;
}

export function isRoutingFailure(e: unknown): boolean {
  return e instanceof Error && routing.has(e);
}

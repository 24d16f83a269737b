import { RegisteredError, registerError } from './registry.js';

/** Errors of NATS authentication, TLS and permissions: the client's and the agent's connection to the cluster. */

export class NatsConnectionConfigError extends RegisteredError<{ option: string }> {
  static {
    registerError(this, {
      type: 'NATS_CONNECTION_CONFIG',
      retryable: false,
      meaning: 'the NATS credentials or TLS options do not fit together or name a missing file (`details.option`); found before connecting',
    });
  }

  constructor(option: string, message: string) {
    super(`${option}: ${message}`, { option });
  }
}

export class PermissionDeniedError extends RegisteredError<{ subject: string; operation: string }> {
  static {
    registerError(this, { type: 'PERMISSION_DENIED', retryable: false, meaning: "the NATS server refused this user's publish or subscribe on the subject (its role does not allow it)" });
  }

  constructor(subject: string, operation: string) {
    super(`not permitted to ${operation} on '${subject}' with these NATS credentials`, { subject, operation });
  }
}

export class AuthenticationFailedError extends RegisteredError {
  static {
    registerError(this, { type: 'AUTHENTICATION_FAILED', retryable: false, meaning: 'the NATS server refused the connection: credentials missing or wrong' });
  }

  constructor(message: string) {
    super(message, {});
  }
}

/**
 * nats.js reports a refused publish (the request's subject is not in the user's permissions) and a refused
 * connection by a NatsError code; this turns them into the typed errors and leaves anything else as it was.
 */
export function fromNatsError(e: unknown): unknown {
  const err = e as { code?: string; message?: string; permissionContext?: { operation?: string; subject?: string } } | undefined;
  if (err?.code === 'PERMISSIONS_VIOLATION') {
    return new PermissionDeniedError(err.permissionContext?.subject ?? 'unknown', err.permissionContext?.operation ?? 'publish');
  }
  if (err?.code === 'AUTHORIZATION_VIOLATION' || err?.code === 'AUTHENTICATION_EXPIRED') {
    return new AuthenticationFailedError(`the NATS server refused the connection: ${err.message ?? err.code}`);
  }
  return e;
}

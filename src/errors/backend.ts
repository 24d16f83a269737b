import { RegisteredError, registerError } from './registry.js';

/** Errors of object storage as the volume driver sees it (src/dataplane/backend). */

type BackendDetails = { ns?: string; name?: string; kind?: string; code?: string };

export class BackendError extends RegisteredError<BackendDetails> {
  static {
    registerError(this, { type: 'BACKEND_ERROR', retryable: true, meaning: 'the backend failed to carry out a valid request (I/O error)' });
  }

  constructor(message: string, details: BackendDetails = {}) {
    super(message, details);
  }
}

/** A BackendError (callers that catch those see it) that no retry can fix. */
export class BackendRequestError extends BackendError {
  static {
    registerError(this, { type: 'BACKEND_INVALID_REQUEST', retryable: false, meaning: 'the backend refuses the request itself (an invalid name or range, writing owner_tag directly)' });
  }
}

export class ObjectMissingError extends RegisteredError<{ ns: string; name: string }> {
  static {
    registerError(this, { type: 'BACKEND_OBJECT_MISSING', retryable: false, meaning: 'the backend object does not exist' });
  }

  constructor(ns: string, name: string) {
    super(`backend object ${ns}/${name} does not exist`, { ns, name });
  }
}

export class ObjectExistsError extends RegisteredError<{ ns: string; name: string }> {
  static {
    registerError(this, { type: 'BACKEND_OBJECT_EXISTS', retryable: false, meaning: 'the backend object exists and the put did not allow overwriting it' });
  }

  constructor(ns: string, name: string) {
    super(`backend object ${ns}/${name} already exists`, { ns, name });
  }
}

export class NamespaceMissingError extends RegisteredError<{ ns: string }> {
  static {
    registerError(this, { type: 'BACKEND_NAMESPACE_MISSING', retryable: false, meaning: 'the backend namespace does not exist' });
  }

  constructor(ns: string) {
    super(`backend namespace ${ns} does not exist`, { ns });
  }
}

export class NamespaceExistsError extends RegisteredError<{ ns: string }> {
  static {
    registerError(this, { type: 'BACKEND_NAMESPACE_EXISTS', retryable: false, meaning: 'the backend namespace already exists' });
  }

  constructor(ns: string) {
    super(`backend namespace ${ns} already exists`, { ns });
  }
}

export class FencedError extends RegisteredError<{ ns: string; expected: string; actual: string | null }> {
  static {
    registerError(this, { type: 'FENCED', retryable: false, meaning: 'another owner claimed the namespace: this one must stop changing it (the volume halts)' });
  }

  constructor(ns: string, expected: string, actual: string | undefined) {
    // null, not undefined: JSON drops undefined keys and the details must survive either codec.
    super(`namespace ${ns} is owned by someone else now (fenced)`, { ns, expected, actual: actual ?? null });
  }
}

import { RegisteredError, registerError } from './registry.js';

/** Errors of metadata servers (MDS) and the volume's metadata backend (volumedriver.md §A14, §C5). */

type MdsDetails = { service?: string; namespace?: string; role?: string; owner_tag?: number; expected_owner_tag?: number; volume_id?: string };

export class MdsError extends RegisteredError<MdsDetails> {
  static {
    registerError(this, { type: 'MDS_ERROR', retryable: true, meaning: 'a metadata server could not carry out the request (I/O, catch-up from the backend failed)' });
  }
}

export class MdsNamespaceNotFoundError extends RegisteredError<MdsDetails> {
  static {
    registerError(this, { type: 'MDS_NAMESPACE_NOT_FOUND', retryable: false, meaning: 'the metadata server holds no table for that namespace' });
  }
}

export class MdsRoleError extends RegisteredError<MdsDetails> {
  static {
    registerError(this, { type: 'MDS_NO_UPDATES_ON_SLAVE', retryable: false, meaning: 'a metadata table in the SLAVE role takes no updates; it follows the backend' });
  }
}

export class MdsOwnerTagError extends RegisteredError<MdsDetails> {
  static {
    registerError(this, { type: 'MDS_OWNER_TAG_MISMATCH', retryable: false, meaning: "the update carries another owner tag than the master table's: a replaced owner is fenced out" });
  }
}

export class MdsUnavailableError extends RegisteredError<MdsDetails> {
  static {
    registerError(this, { type: 'MDS_UNAVAILABLE', retryable: true, meaning: 'the metadata server does not answer (its node is down or it is not served)' });
  }
}

import { type ErrorDetails, RegisteredError, registerError } from './registry.js';

/** Errors of rolling updates (src/update): the release source, installing a release, refusing or stopping an update. */

export class UpdateSourceError extends RegisteredError {
  static {
    registerError(this, { type: 'UPDATE_SOURCE', retryable: false, meaning: 'the configured update source is missing, unreadable or not a release tarball of this project' });
  }

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details);
  }
}

export class UpdateInstallError extends RegisteredError {
  static {
    registerError(this, { type: 'UPDATE_INSTALL_FAILED', retryable: false, meaning: 'a release could not be installed or failed its start check on a node; that node keeps its running version' });
  }

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details);
  }
}

export class UpdateRefusedError extends RegisteredError {
  static {
    registerError(this, { type: 'UPDATE_REFUSED', retryable: false, meaning: 'an update cannot start or go on: another one runs, a prerequisite is not met, or a node cannot restart itself' });
  }

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details);
  }
}

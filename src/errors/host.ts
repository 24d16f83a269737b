import { RegisteredError, registerError } from './registry.js';

/** Errors of reading the StorageRouter's own host (src/host). */

export class HostCommandError extends RegisteredError<{ command: string }> {
  static {
    registerError(this, {
      type: 'HOST_COMMAND_FAILED',
      retryable: 'per instance',
      meaning: 'a host command (lsblk, parted, ...) failed; retryable when it may succeed later (exit status), not when its output is unusable',
    });
  }

  constructor(command: string, message: string, retryable = false) {
    super(`${command}: ${message}`, { command }, { retryable });
  }
}

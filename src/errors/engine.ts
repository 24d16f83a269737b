import { type ErrorDetails, RegisteredError, registerError } from './registry.js';

/** Errors of the engine's upkeep (JetStream buckets and streams), plugin hooks and migrations. */

export class EngineConfigError extends RegisteredError {
  static {
    registerError(this, { type: 'ENGINE_CONFIG', retryable: false, meaning: 'the configuration of the engine upkeep (`/ovs/framework/upkeep`) is malformed' });
  }

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details);
  }
}

export class HookFailedError extends RegisteredError<{ hook: string; handler: string; cause_type: string; cause: string }> {
  static {
    registerError(this, { type: 'HOOK_FAILED', retryable: false, meaning: 'a plugin hook handler failed; the handlers after it did not run' });
  }

  constructor(hook: string, handler: string, causeType: string, cause: string, error?: unknown) {
    super(`hook '${hook}' handler '${handler}' failed: ${cause}`, { hook, handler, cause_type: causeType, cause }, { cause: error });
  }
}

export class MigrationFailedError extends RegisteredError<{ step: string; cause: string; done: string[] }> {
  static {
    registerError(this, { type: 'MIGRATION_FAILED', retryable: true, meaning: 'a migration step failed; the steps before it are recorded as done, it and the ones after it run at the next migrate' });
  }

  constructor(step: string, cause: string, done: string[]) {
    super(`migration step '${step}' failed: ${cause}`, { step, cause, done });
  }
}

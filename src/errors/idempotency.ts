import { RegisteredError, registerError } from './registry.js';

/** Conditions of idempotent retries (`Ovs-Idempotency-Key`). */

export class IdempotencyKeyReusedError extends RegisteredError<{ task: string; key: string }> {
  static {
    registerError(this, { type: 'IDEMPOTENCY_KEY_REUSED', retryable: false, meaning: 'the idempotency key was first used for this task with other parameters' });
  }

  constructor(task: string, key: string) {
    super(`idempotency key ${key} was first used for ${task} with other parameters`, { task, key });
  }
}

export class IdempotencyOutcomeUnknownError extends RegisteredError<{ task: string; key: string; task_id: string; storagerouter_guid: string }> {
  static {
    registerError(this, {
      type: 'IDEMPOTENCY_OUTCOME_UNKNOWN',
      retryable: true,
      meaning: "the first attempt with this idempotency key was claimed by an agent that stopped before keeping its outcome; it is not run again (check the object's state, or retry with a new key)",
    });
  }

  constructor(task: string, key: string, taskId: string, storagerouterGuid: string) {
    super(`the outcome of the first ${task} with idempotency key ${key} (task ${taskId} on StorageRouter ${storagerouterGuid}) is unknown: its agent stopped while it ran`, {
      task, key, task_id: taskId, storagerouter_guid: storagerouterGuid,
    });
  }
}

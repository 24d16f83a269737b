import { type ErrorDetails, RegisteredError, registerError } from './registry.js';

/** Errors of the request path: decoding, validation, routing, deadlines, ensure_single, async results. */

export class BadRequestError extends RegisteredError {
  static {
    registerError(this, { type: 'BAD_REQUEST', retryable: false, meaning: 'the request body could not be decoded, is not a map, or names an unknown operation' });
  }

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details);
  }
}

export interface ValidationIssue {
  path: string;
  message: string;
}

export class ValidationError extends RegisteredError<{ issues: ValidationIssue[] }> {
  static {
    registerError(this, { type: 'VALIDATION_FAILED', retryable: false, meaning: "parameters do not match the task's declared schema (`details.issues`)" });
  }

  constructor(message: string, issues: ValidationIssue[]) {
    super(message, { issues });
  }
}

export class UnknownTaskError extends RegisteredError<{ subject: string }> {
  static {
    registerError(this, { type: 'UNKNOWN_TASK', retryable: false, meaning: 'no task is declared for the subject' });
  }

  constructor(subject: string) {
    super(`no task is declared for subject '${subject}'`, { subject });
  }
}

export class DeadlineExceededError extends RegisteredError<{ deadline: number; stage: string }> {
  static {
    registerError(this, { type: 'DEADLINE_EXCEEDED', retryable: true, meaning: "the request's deadline passed before it was answered" });
  }

  constructor(deadline: number, stage: string) {
    super(`deadline ${new Date(deadline).toISOString()} passed (${stage})`, { deadline, stage });
  }
}

export class NotAvailableError extends RegisteredError {
  static {
    registerError(this, { type: 'NOT_AVAILABLE', retryable: true, meaning: 'the owner of the work is not reachable right now (node down, lease moving, not served here)' });
  }

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details);
  }
}

export class PayloadTooLargeError extends RegisteredError<{ size: number; limit: number }> {
  static {
    registerError(this, { type: 'PAYLOAD_TOO_LARGE', retryable: false, meaning: "the request body exceeds the agent's size limit" });
  }

  constructor(size: number, limit: number) {
    super(`request body of ${size} bytes exceeds the limit of ${limit} bytes`, { size, limit });
  }
}

export class EnsureSingleTimeoutError extends RegisteredError<{ task: string; timeout_ms: number }> {
  static {
    registerError(this, { type: 'ENSURE_SINGLE_TIMEOUT', retryable: true, meaning: 'a task waiting its ensure_single turn could not start in time' });
  }

  constructor(task: string, timeoutMs: number) {
    super(`${task} could not start within ${timeoutMs / 1000} s`, { task, timeout_ms: timeoutMs });
  }
}

export class NotImplementedError extends RegisteredError<{ task: string; reason: string }> {
  static {
    registerError(this, { type: 'NOT_IMPLEMENTED', retryable: false, meaning: 'the task is declared (name and parameters are API) but arrives with a later issue' });
  }

  constructor(task: string, reason: string) {
    super(`${task} is not available yet: ${reason}`, { task, reason });
  }
}

export class TaskNotFoundError extends RegisteredError<{ task_id: string }> {
  static {
    registerError(this, { type: 'TASK_NOT_FOUND', retryable: false, meaning: 'no async task with that id is known (never started, or its result expired)' });
  }

  constructor(taskId: string) {
    super(`no task with id '${taskId}'`, { task_id: taskId });
  }
}

export class InternalError extends RegisteredError<Record<string, never>> {
  static {
    registerError(this, { type: 'INTERNAL', retryable: false, meaning: 'anything thrown that is not a registered error (a bug); logged by the agent' });
  }

  constructor(message: string, cause?: unknown) {
    super(message, {}, { cause });
  }
}

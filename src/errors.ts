/**
 * Every failure that can cross the wire is an {@link OvsError}: a stable `type`, a `retryable` flag and `details`.
 * `toWire` / `fromWire` round-trip them, so a caller gets back the same class the agent threw.
 */
export interface WireError {
  type: string;
  message: string;
  retryable: boolean;
  details: Record<string, unknown>;
}

export class OvsError extends Error {
  readonly type: string;
  readonly retryable: boolean;
  readonly details: Record<string, unknown>;

  constructor(message: string, opts: { type: string; retryable?: boolean; details?: Record<string, unknown>; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.type = opts.type;
    this.retryable = opts.retryable ?? false;
    this.details = opts.details ?? {};
  }

  toWire(): WireError {
    return { type: this.type, message: this.message, retryable: this.retryable, details: this.details };
  }
}

/** The request body could not be decoded, or is not a map. */
export class BadRequestError extends OvsError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message, { type: 'BAD_REQUEST', details });
  }
}

/** Parameters do not match the task's declared schema. */
export class ValidationError extends OvsError {
  constructor(message: string, issues: Array<{ path: string; message: string }>) {
    super(message, { type: 'VALIDATION_FAILED', details: { issues } });
  }
}

export class UnknownTaskError extends OvsError {
  constructor(subject: string) {
    super(`no task is declared for subject '${subject}'`, { type: 'UNKNOWN_TASK', details: { subject } });
  }
}

/** A model object addressed by guid does not exist (the original's ObjectNotFoundException). */
export class ObjectNotFoundError extends OvsError {
  constructor(objectType: string, guid: string) {
    super(`${objectType} '${guid}' not found`, { type: 'OBJECT_NOT_FOUND', details: { object_type: objectType, guid } });
  }
}

export class UniqueConstraintError extends OvsError {
  constructor(objectType: string, property: string, value: unknown) {
    super(`${objectType}.${property} = ${JSON.stringify(value)} is already taken`, {
      type: 'UNIQUE_CONSTRAINT_VIOLATION',
      details: { object_type: objectType, property, value },
    });
  }
}

/** Compare-and-set kept failing: someone else wrote the object each time. */
export class RaceConditionError extends OvsError {
  constructor(key: string, attempts: number) {
    super(`could not update '${key}' after ${attempts} attempts: concurrent writers`, {
      type: 'RACE_CONDITION',
      retryable: true,
      details: { key, attempts },
    });
  }
}

/** Deleting an object that others still point to. */
export class LinkedObjectError extends OvsError {
  constructor(objectType: string, guid: string, relation: string, count: number) {
    super(`${objectType} '${guid}' is still referenced by ${count} object(s) through '${relation}'`, {
      type: 'LINKED_OBJECT',
      details: { object_type: objectType, guid, relation, count },
    });
  }
}

export class MissingMandatoryFieldsError extends OvsError {
  constructor(objectType: string, fields: string[]) {
    super(`${objectType} is missing mandatory fields: ${fields.join(', ')}`, {
      type: 'MISSING_MANDATORY_FIELDS',
      details: { object_type: objectType, fields },
    });
  }
}

export class DeadlineExceededError extends OvsError {
  constructor(deadline: number, stage: string) {
    super(`deadline ${new Date(deadline).toISOString()} passed (${stage})`, {
      type: 'DEADLINE_EXCEEDED',
      retryable: true,
      details: { deadline, stage },
    });
  }
}

/** The owner of the work is not reachable right now (node down, lease moving). */
export class NotAvailableError extends OvsError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message, { type: 'NOT_AVAILABLE', retryable: true, details });
  }
}

export class PayloadTooLargeError extends OvsError {
  constructor(size: number, limit: number) {
    super(`request body of ${size} bytes exceeds the limit of ${limit} bytes`, {
      type: 'PAYLOAD_TOO_LARGE',
      details: { size, limit },
    });
  }
}

/** A task waiting its ensure_single turn could not start in time (the original's EnsureSingleTimeoutReached). */
export class EnsureSingleTimeoutError extends OvsError {
  constructor(task: string, timeoutMs: number) {
    super(`${task} could not start within ${timeoutMs / 1000} s`, {
      type: 'ENSURE_SINGLE_TIMEOUT',
      retryable: true,
      details: { task, timeout_ms: timeoutMs },
    });
  }
}

/** The task is declared (its name and parameters are part of the API) but arrives with a later issue. */
export class NotImplementedError extends OvsError {
  constructor(task: string, reason: string) {
    super(`${task} is not available yet: ${reason}`, { type: 'NOT_IMPLEMENTED', details: { task, reason } });
  }
}

export class TaskNotFoundError extends OvsError {
  constructor(taskId: string) {
    super(`no task with id '${taskId}'`, { type: 'TASK_NOT_FOUND', details: { task_id: taskId } });
  }
}

/** A host command (lsblk, df, ...) failed on the StorageRouter. */
export class HostCommandError extends OvsError {
  constructor(command: string, message: string, retryable = false) {
    super(`${command}: ${message}`, { type: 'HOST_COMMAND_FAILED', retryable, details: { command } });
  }
}

export class InternalError extends OvsError {
  constructor(message: string, cause?: unknown) {
    super(message, { type: 'INTERNAL', retryable: false, cause });
  }
}

/** Anything thrown becomes an OvsError; unknown throwables are INTERNAL, never lost. */
export function asOvsError(e: unknown): OvsError {
  if (e instanceof OvsError) return e;
  if (e instanceof Error) return new InternalError(e.message, e);
  return new InternalError(String(e));
}

/** Error classes by their wire type, so `fromWire` restores the class (instanceof works across the wire). */
const CLASSES_BY_TYPE = new Map<string, object>([
  ['BAD_REQUEST', BadRequestError.prototype], ['VALIDATION_FAILED', ValidationError.prototype],
  ['UNKNOWN_TASK', UnknownTaskError.prototype], ['OBJECT_NOT_FOUND', ObjectNotFoundError.prototype],
  ['UNIQUE_CONSTRAINT_VIOLATION', UniqueConstraintError.prototype], ['RACE_CONDITION', RaceConditionError.prototype],
  ['LINKED_OBJECT', LinkedObjectError.prototype], ['MISSING_MANDATORY_FIELDS', MissingMandatoryFieldsError.prototype],
  ['DEADLINE_EXCEEDED', DeadlineExceededError.prototype], ['NOT_AVAILABLE', NotAvailableError.prototype],
  ['PAYLOAD_TOO_LARGE', PayloadTooLargeError.prototype], ['ENSURE_SINGLE_TIMEOUT', EnsureSingleTimeoutError.prototype],
  ['NOT_IMPLEMENTED', NotImplementedError.prototype], ['TASK_NOT_FOUND', TaskNotFoundError.prototype],
  ['HOST_COMMAND_FAILED', HostCommandError.prototype], ['INTERNAL', InternalError.prototype],
]);

/** Rebuild an error from its wire form; the class is restored when this process knows the type. */
export function fromWire(w: WireError): OvsError {
  const e = new OvsError(String(w.message), { type: String(w.type), retryable: Boolean(w.retryable), details: w.details ?? {} });
  const proto = CLASSES_BY_TYPE.get(w.type);
  if (proto) {
    Object.setPrototypeOf(e, proto);
    e.name = (proto as { constructor: { name: string } }).constructor.name;
  }
  return e;
}

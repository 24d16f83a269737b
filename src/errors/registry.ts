/**
 * Every failure that can cross the wire is an {@link OvsError}: a stable `type`, a `retryable` flag and `details`.
 * Each type is one {@link RegisteredError} subclass that names its {@link ErrorSpec} once, in a `static` block:
 *
 *     export class FencedError extends RegisteredError<{ ns: string }> {
 *       static { registerError(this, { type: 'FENCED', retryable: false, meaning: 'another owner claimed ...' }); }
 *       constructor(ns: string) { super(`namespace ${ns} is fenced`, { ns }); }
 *     }
 */

export type ErrorDetails = Record<string, unknown>;

export interface WireError {
  type: string;
  message: string;
  retryable: boolean;
  details: ErrorDetails;
}

export interface ErrorSpec {
  /** Stable UPPER_SNAKE name on the wire; clients branch on it. */
  type: string;
  /** Whether the same request may succeed later; `'per instance'` when the thrower decides (say when in `meaning`). */
  retryable: boolean | 'per instance';
  /** One line for the README's list of error types. */
  meaning: string;
}

export class OvsError extends Error {
  readonly type: string;
  readonly retryable: boolean;
  readonly details: ErrorDetails;

  /** For {@link fromWire} and types this process does not know; everything else throws a registered class. */
  constructor(message: string, opts: { type: string; retryable?: boolean; details?: ErrorDetails; cause?: unknown }) {
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

export type ErrorClass = abstract new (...args: never[]) => OvsError;

export interface RegisteredType {
  readonly errorClass: ErrorClass;
  readonly spec: Readonly<ErrorSpec>;
}

const byType = new Map<string, RegisteredType>();
const byClass = new Map<ErrorClass, Readonly<ErrorSpec>>();

const TYPE_PATTERN = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/;

/** Called once per class, from its `static` block; a type registered twice is a bug that stops the process at load. */
export function registerError(errorClass: ErrorClass, spec: ErrorSpec): void {
  if (!TYPE_PATTERN.test(spec.type)) throw new Error(`${errorClass.name}: error type '${spec.type}' is not UPPER_SNAKE`);
  const taken = byType.get(spec.type);
  if (taken) throw new Error(`error type ${spec.type} is registered twice: by ${taken.errorClass.name} and by ${errorClass.name}`);
  if (byClass.has(errorClass)) throw new Error(`${errorClass.name} is registered twice`);
  const frozen = Object.freeze({ ...spec });
  byType.set(spec.type, { errorClass, spec: frozen });
  byClass.set(errorClass, frozen);
}

/** The class registered for a wire type, if this process knows it. */
export function registeredType(type: string): RegisteredType | undefined {
  return byType.get(type);
}

/** Every registered type in registration order (complete once `all.ts` is loaded, which `errors.ts` does). */
export function registeredTypes(): RegisteredType[] {
  return [...byType.values()];
}

export interface RegisteredErrorOptions {
  cause?: unknown;
  /** Only for types registered with `retryable: 'per instance'`. */
  retryable?: boolean;
}

/** Base of every registered type: type and retryable come from the spec of the class actually constructed. */
export abstract class RegisteredError<D extends ErrorDetails = ErrorDetails> extends OvsError {
  declare readonly details: D;

  constructor(message: string, details: D, options: RegisteredErrorOptions = {}) {
    const spec = byClass.get(new.target);
    if (!spec) throw new Error(`${new.target.name} has no registerError(this, ...) in a static block`);
    if (spec.retryable !== 'per instance' && options.retryable !== undefined) {
      throw new Error(`${new.target.name}: ${spec.type} is ${spec.retryable ? '' : 'not '}retryable by its type, not per instance`);
    }
    const retryable = spec.retryable === 'per instance' ? (options.retryable ?? false) : spec.retryable;
    super(message, { type: spec.type, retryable, details, cause: options.cause });
  }
}

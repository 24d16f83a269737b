import { RegisteredError, registerError } from './registry.js';

/** Errors of the model (typed objects on KV) and of the configuration store's compare-and-set. */

export class ObjectNotFoundError extends RegisteredError<{ object_type: string; guid: string }> {
  static {
    registerError(this, { type: 'OBJECT_NOT_FOUND', retryable: false, meaning: "a model object addressed by guid does not exist (the original's ObjectNotFoundException)" });
  }

  constructor(objectType: string, guid: string) {
    super(`${objectType} '${guid}' not found`, { object_type: objectType, guid });
  }
}

export class UniqueConstraintError extends RegisteredError<{ object_type: string; property: string; value: unknown }> {
  static {
    registerError(this, { type: 'UNIQUE_CONSTRAINT_VIOLATION', retryable: false, meaning: 'another model object already holds this unique property value' });
  }

  constructor(objectType: string, property: string, value: unknown) {
    super(`${objectType}.${property} = ${JSON.stringify(value)} is already taken`, { object_type: objectType, property, value });
  }
}

export class RaceConditionError extends RegisteredError<{ key: string; attempts: number }> {
  static {
    registerError(this, { type: 'RACE_CONDITION', retryable: true, meaning: 'compare-and-set kept failing: someone else wrote the object each time' });
  }

  constructor(key: string, attempts: number) {
    super(`could not update '${key}' after ${attempts} attempts: concurrent writers`, { key, attempts });
  }
}

export class LinkedObjectError extends RegisteredError<{ object_type: string; guid: string; relation: string; count: number }> {
  static {
    registerError(this, { type: 'LINKED_OBJECT', retryable: false, meaning: 'deleting a model object that others still point to' });
  }

  constructor(objectType: string, guid: string, relation: string, count: number) {
    super(`${objectType} '${guid}' is still referenced by ${count} object(s) through '${relation}'`, { object_type: objectType, guid, relation, count });
  }
}

export class MissingMandatoryFieldsError extends RegisteredError<{ object_type: string; fields: string[] }> {
  static {
    registerError(this, { type: 'MISSING_MANDATORY_FIELDS', retryable: false, meaning: 'a model object is written without its mandatory fields' });
  }

  constructor(objectType: string, fields: string[]) {
    super(`${objectType} is missing mandatory fields: ${fields.join(', ')}`, { object_type: objectType, fields });
  }
}

import { OvsError } from '../errors.js';

/** Data-plane errors; `type` names follow the original's exception names (B7) in our UPPER_SNAKE style. */
function cls(type: string, retryable = false) {
  return class extends OvsError {
    constructor(message: string, details: Record<string, unknown> = {}) {
      super(message, { type, retryable, details });
    }
  };
}

export class VolumeNotFoundError extends cls('OBJECT_NOT_FOUND') {}
export class VolumeExistsError extends cls('FILE_EXISTS') {}
export class SnapshotNotFoundError extends cls('SNAPSHOT_NOT_FOUND') {}
export class SnapshotExistsError extends cls('SNAPSHOT_EXISTS') {}
export class ObjectStillHasChildrenError extends cls('OBJECT_STILL_HAS_CHILDREN') {}
export class PreviousSnapshotNotOnBackendError extends cls('PREVIOUS_SNAPSHOT_NOT_ON_BACKEND', true) {}
export class InvalidOperationError extends cls('INVALID_OPERATION') {}
export class CannotShrinkError extends cls('CANNOT_SHRINK') {}
export class VolumeHaltedError extends cls('VOLUME_HALTED') {}
export class OutOfRangeError extends cls('OUT_OF_RANGE') {}
export class ReadOnlyVolumeError extends cls('READ_ONLY') {}
export class InvalidSizeError extends cls('INVALID_SIZE') {}

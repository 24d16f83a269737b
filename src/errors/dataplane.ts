import { type ErrorDetails, RegisteredError, registerError } from './registry.js';

/**
 * Errors of the volume driver; `type` names follow the original's exception names (B7) in our UPPER_SNAKE style.
 * Every detail is optional: the same condition is met with a volume id in the driver and a vDisk guid in a task.
 */
abstract class VolumeDriverError<D extends ErrorDetails> extends RegisteredError<Partial<D>> {
  constructor(message: string, details: Partial<D> = {}) {
    super(message, details);
  }
}

export class VolumeNotFoundError extends VolumeDriverError<{ volume_id: string; target_path: string; running: boolean }> {
  static {
    registerError(this, { type: 'VOLUME_NOT_FOUND', retryable: false, meaning: 'no volume with that id or path exists (or it does not run on this node: `running: false`)' });
  }
}

export class VolumeExistsError extends VolumeDriverError<{ volume_id: string; target_path: string }> {
  static {
    registerError(this, { type: 'FILE_EXISTS', retryable: false, meaning: 'a volume with that id or path already exists' });
  }
}

export class SnapshotNotFoundError extends VolumeDriverError<{ snapshot_id: string; vdisk_guid: string; timestamp: string }> {
  static {
    registerError(this, { type: 'SNAPSHOT_NOT_FOUND', retryable: false, meaning: 'the volume has no snapshot with that id (or a vDisk none with that timestamp)' });
  }
}

export class SnapshotExistsError extends VolumeDriverError<Record<string, never>> {
  static {
    registerError(this, { type: 'SNAPSHOT_EXISTS', retryable: false, meaning: 'the volume already has a snapshot with that id' });
  }
}

export class ObjectStillHasChildrenError extends VolumeDriverError<{ clones: number; volume_id: string; snapshot_id: string }> {
  static {
    registerError(this, { type: 'OBJECT_STILL_HAS_CHILDREN', retryable: false, meaning: 'the volume, vDisk or snapshot has clones, so it cannot be removed or changed that way' });
  }
}

export class PreviousSnapshotNotOnBackendError extends VolumeDriverError<{ snapshot_id: string }> {
  static {
    registerError(this, { type: 'PREVIOUS_SNAPSHOT_NOT_ON_BACKEND', retryable: true, meaning: 'the previous snapshot is not in the backend yet' });
  }
}

export class InvalidOperationError extends VolumeDriverError<{ vdisk_guid: string; snapshot_id: string }> {
  static {
    registerError(this, { type: 'INVALID_OPERATION', retryable: false, meaning: 'the operation does not apply to the volume or vDisk in its state (not a template, a clone, a bad id, ...)' });
  }
}

export class NotOwnerError extends VolumeDriverError<{ volume_id: string; node_id: string }> {
  static {
    registerError(this, { type: 'NOT_OWNER', retryable: false, meaning: 'the volume is registered to another node (moved or failed over): this node must not run it' });
  }
}

export class CannotShrinkError extends VolumeDriverError<Record<string, never>> {
  static {
    registerError(this, { type: 'CANNOT_SHRINK', retryable: false, meaning: 'a volume can grow, never shrink' });
  }
}

export class VolumeHaltedError extends VolumeDriverError<{ volume_id: string }> {
  static {
    registerError(this, { type: 'VOLUME_HALTED', retryable: false, meaning: 'the volume halted (a backend task or a write failed, e.g. fenced) and refuses I/O until restarted' });
  }
}

export class OutOfRangeError extends VolumeDriverError<{ offset: number; length: number; size: number }> {
  static {
    registerError(this, { type: 'OUT_OF_RANGE', retryable: false, meaning: 'the I/O reaches beyond the end of the volume' });
  }
}

export class ReadOnlyVolumeError extends VolumeDriverError<Record<string, never>> {
  static {
    registerError(this, { type: 'READ_ONLY', retryable: false, meaning: 'the volume is a template: it is read-only' });
  }
}

export class InvalidSizeError extends VolumeDriverError<{ size: number; cluster_size: number }> {
  static {
    registerError(this, { type: 'INVALID_SIZE', retryable: false, meaning: 'a size that is not a positive multiple of the cluster size, or above the maximum' });
  }
}

export class DtlError extends VolumeDriverError<{
  reason: 'unreachable' | 'timeout' | 'closed' | 'fenced' | 'refused' | 'protocol' | 'server' | 'port_in_use';
  ns: string;
  host: string;
  port: number;
}> {
  static {
    registerError(this, {
      type: 'DTL_ERROR',
      retryable: true,
      meaning: 'the DTL failed (`reason`: unreachable, timeout, closed, fenced by a newer owner, refused, protocol, server, port_in_use); a volume goes DEGRADED',
    });
  }
}

export class ScrubBusyError extends VolumeDriverError<{ volume_id: string; holder: string; waited_ms: number }> {
  static {
    registerError(this, { type: 'SCRUB_BUSY', retryable: true, meaning: 'the volume is being scrubbed (or its snapshots changed) under a lease someone else holds; try again later' });
  }
}

export class NbdTlsConfigError extends RegisteredError<{ vpool_guid: string; key: string }> {
  static {
    registerError(this, {
      type: 'NBD_TLS_CONFIG',
      retryable: false,
      meaning: "the vPool's NBD TLS setting (`details.key`) is malformed or names a certificate, key or CA that cannot be read; the edge does not start rather than serve in plain",
    });
  }

  constructor(vpoolGuid: string, key: string, message: string) {
    super(`${key}: ${message}`, { vpool_guid: vpoolGuid, key });
  }
}

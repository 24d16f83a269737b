import { type ErrorDetails, RegisteredError, registerError } from './registry.js';

/** Conditions that tasks meet above the data plane: vPools, vDisk names and settings, snapshot retention, events. */

export class NameInUseError extends RegisteredError<{ devicename: string; vpool: string }> {
  static {
    registerError(this, { type: 'NAME_IN_USE', retryable: false, meaning: 'a vDisk with that device name exists on the vPool' });
  }

  constructor(devicename: string, vpool: string) {
    super(`a vDisk with device name ${devicename} exists on vPool ${vpool}`, { devicename, vpool });
  }
}

export class VolumeRunningError extends RegisteredError<{ vdisk_guid: string }> {
  static {
    registerError(this, { type: 'VOLUME_RUNNING', retryable: false, meaning: 'the vDisk is running (not halted), so it cannot be restarted' });
  }

  constructor(vdiskGuid: string) {
    super(`vDisk ${vdiskGuid} is running`, { vdisk_guid: vdiskGuid });
  }
}

export class InvalidDtlSettingsError extends RegisteredError<{ dtl_mode?: string; dtl_target?: string[] }> {
  static {
    registerError(this, { type: 'INVALID_DTL_SETTINGS', retryable: false, meaning: "the vDisk's DTL mode and targets do not fit together" });
  }

  constructor(message: string, details: { dtl_mode?: string; dtl_target?: string[] } = {}) {
    super(message, details);
  }
}

export class VpoolError extends RegisteredError {
  static {
    registerError(this, { type: 'VPOOL_ERROR', retryable: false, meaning: 'the vPool cannot be added or extended on this StorageRouter (reason in the message)' });
  }

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details);
  }
}

export class RetentionError extends RegisteredError<{ problems: string[] }> {
  static {
    registerError(this, { type: 'SNAPSHOT_DELETE_FAILED', retryable: true, meaning: 'snapshot retention could not delete some snapshots (`details.problems`, one line per vDisk)' });
  }

  constructor(problems: string[]) {
    super(`exceptions occurred while deleting snapshots:\n- ${problems.join('\n- ')}`, { problems });
  }
}

export class StorageDriverNotInModelError extends RegisteredError<{ storagedriver_id: string }> {
  static {
    registerError(this, { type: 'STORAGEDRIVER_NOT_IN_MODEL', retryable: true, meaning: 'a data-plane event names a StorageDriver the model does not hold yet (the event is redelivered)' });
  }

  constructor(storagedriverId: string) {
    super(`StorageDriver ${storagedriverId} is not in the model (yet)`, { storagedriver_id: storagedriverId });
  }
}

export class StorageDriverInUseError extends RegisteredError<{ storagedriver_guid: string; vdisks: Array<{ guid: string; name: string }> }> {
  static {
    registerError(this, { type: 'STORAGEDRIVER_IN_USE', retryable: false, meaning: 'the StorageDriver still owns vDisks (`details.vdisks`), so it cannot leave its vPool' });
  }

  constructor(storagedriverGuid: string, vdisks: Array<{ guid: string; name: string }>) {
    super(`StorageDriver ${storagedriverGuid} still serves ${vdisks.length} vDisk(s): ${vdisks.map((v) => v.name).join(', ')}`, { storagedriver_guid: storagedriverGuid, vdisks });
  }
}

export class DtlCheckupError extends RegisteredError<{ problems: string[] }> {
  static {
    registerError(this, { type: 'DTL_CHECKUP_FAILED', retryable: true, meaning: 'the DTL checkup could not check or configure some vDisks (`details.problems`, one line per vDisk); the others were handled' });
  }

  constructor(problems: string[]) {
    super(`DTL checkup had errors:\n- ${problems.join('\n- ')}`, { problems });
  }
}

export class ConfigUpdateError extends RegisteredError<{ vdisk_guid: string; problems: string[] }> {
  static {
    registerError(this, { type: 'CONFIG_UPDATE_FAILED', retryable: true, meaning: "some of a vDisk's new configuration parameters could not be applied (`details.problems`); the rest were, and a failed DTL change restored the manual flag" });
  }

  constructor(vdiskGuid: string, problems: string[]) {
    super(`updating the configuration of vDisk ${vdiskGuid} failed:\n- ${problems.join('\n- ')}`, { vdisk_guid: vdiskGuid, problems });
  }
}

export type MdsSafetyReason = 'excluded' | 'not_member' | 'not_in_primary' | 'no_config' | 'no_master';

export class MdsSafetyError extends RegisteredError<{ vdisk_storagerouter: string; reason: MdsSafetyReason }> {
  static {
    registerError(this, { type: 'MDS_SAFETY', retryable: false, meaning: "the vDisk's MDS safety cannot be planned: its StorageRouter is excluded, unknown, outside the vPool, or has no usable MDS (`details.reason`)" });
  }

  constructor(message: string, details: { vdisk_storagerouter: string; reason: MdsSafetyReason }) {
    super(message, details);
  }
}

export class NoScrubLocationsError extends RegisteredError<{ storagerouter_guid: string | null }> {
  static {
    registerError(this, { type: 'NO_SCRUB_LOCATIONS', retryable: false, meaning: 'no StorageRouter (or not the one asked for) has a partition with role SCRUB, so nothing can scrub' });
  }

  constructor(storagerouterGuid: string | null) {
    super(storagerouterGuid ? `StorageRouter ${storagerouterGuid} has no partition with role SCRUB, cannot scrub` : 'no scrub locations found (no partition with role SCRUB), cannot scrub', { storagerouter_guid: storagerouterGuid });
  }
}

export type ScrubFailure = {
  vdisk_guid: string;
  name: string;
  error: string;
};

export class ScrubFailedError extends RegisteredError<{ failures: ScrubFailure[]; scrubbed: number }> {
  static {
    registerError(this, { type: 'SCRUB_FAILED', retryable: true, meaning: 'scrubbing failed for some vDisks (`details.failures`, one per vDisk); the others were scrubbed' });
  }

  constructor(failures: ScrubFailure[], scrubbed: number) {
    super(`errors occurred while scrubbing:\n  - ${failures.map((f) => `vDisk ${f.name} (${f.vdisk_guid}): ${f.error}`).join('\n  - ')}`, { failures, scrubbed });
  }
}

export class VpoolNotExtendedError extends RegisteredError<{ vpool_guid: string; storagerouter_guid: string }> {
  static {
    registerError(this, { type: 'VPOOL_NOT_EXTENDED', retryable: false, meaning: 'the vPool has no StorageDriver on that StorageRouter (it has not been extended to it)' });
  }

  constructor(vpoolName: string, vpoolGuid: string, storagerouterName: string, storagerouterGuid: string) {
    super(`vPool ${vpoolName} has not been extended to StorageRouter ${storagerouterName}`, { vpool_guid: vpoolGuid, storagerouter_guid: storagerouterGuid });
  }
}

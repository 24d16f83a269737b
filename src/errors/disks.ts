import { RegisteredError, registerError } from './registry.js';

/** Why `storagerouter.configure_disk` refuses a request; nothing on the host or in the model changed. */
export type DiskConfigurationReason =
  | 'invalid_role'
  | 'disk_not_on_storagerouter'
  | 'partition_not_on_disk'
  | 'disk_used_by_backend'
  | 'role_duplication'
  | 'roles_in_use'
  | 'unsupported_filesystem'
  | 'not_mounted'
  | 'disk_in_use'
  | 'partition_creation_unsupported';

export type DiskConfigurationDetails = {
  reason: DiskConfigurationReason;
  storagerouter_guid: string;
  disk_guid: string;
  partition_guid: string | null;
  roles?: string[];
};

export class DiskConfigurationError extends RegisteredError<DiskConfigurationDetails> {
  static {
    registerError(this, {
      type: 'DISK_CONFIGURATION_REFUSED',
      retryable: false,
      meaning: 'configure_disk refuses the disk or partition (`details.reason`: foreign disk or partition, roles in use, a role already on another disk, a disk in use, ...); nothing changed',
    });
  }

  constructor(message: string, details: DiskConfigurationDetails) {
    super(message, details);
  }
}

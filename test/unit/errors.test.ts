import { readFileSync } from 'node:fs';
import test from 'ava';
import * as errors from '../../src/errors.js';
import {
  BackendError, BackendRequestError, BadRequestError, CannotShrinkError, ConfigUpdateError, DeadlineExceededError, DtlCheckupError, DtlError, EnsureSingleTimeoutError, FencedError, HostCommandError,
  InternalError, InvalidDtlSettingsError, InvalidOperationError, InvalidSizeError, LinkedObjectError, MissingMandatoryFieldsError, NameInUseError, NotOwnerError,
  NamespaceExistsError, NamespaceMissingError, NotAvailableError, NotImplementedError, ObjectExistsError, ObjectMissingError, ObjectNotFoundError,
  ObjectStillHasChildrenError, OutOfRangeError, OvsError, PayloadTooLargeError, PreviousSnapshotNotOnBackendError, RaceConditionError, ReadOnlyVolumeError,
  NoScrubLocationsError, RegisteredError, RetentionError, ScrubFailedError, SnapshotExistsError, SnapshotNotFoundError, StorageDriverInUseError, StorageDriverNotInModelError, TaskNotFoundError, UniqueConstraintError,
  UnknownTaskError, ValidationError, VolumeExistsError, VolumeHaltedError, VolumeNotFoundError, VolumeRunningError, VpoolError, VpoolNotExtendedError, asOvsError, fromWire,
  registerError, registeredType, registeredTypes, type WireError,
} from '../../src/errors.js';
import { EngineConfigError, HookFailedError, MigrationFailedError } from '../../src/errors.js';
import { IdempotencyKeyReusedError, IdempotencyOutcomeUnknownError } from '../../src/errors.js';
import { errorTypesMarkdown } from '../../src/errors/doc.js';
import { decode, encode, type Encoding } from '../../src/protocol/codec.js';

/** One instance per registered type, with details as its throwers fill them; a new type without a sample fails below. */
const SAMPLES: Record<string, () => OvsError> = {
  BAD_REQUEST: () => new BadRequestError('request body is not valid msgpack', { encoding: 'msgpack' }),
  VALIDATION_FAILED: () => new ValidationError('bad', [{ path: 'vdisk_guid', message: 'Required' }]),
  UNKNOWN_TASK: () => new UnknownTaskError('ovs.task.nope.nothing'),
  DEADLINE_EXCEEDED: () => new DeadlineExceededError(1_700_000_000_000, 'queued'),
  NOT_AVAILABLE: () => new NotAvailableError('StorageDriver sd1 is not running on this node', { storagedriver_guid: 'g1' }),
  PAYLOAD_TOO_LARGE: () => new PayloadTooLargeError(2_000_000, 1_048_576),
  ENSURE_SINGLE_TIMEOUT: () => new EnsureSingleTimeoutError('mds.mds_checkup', 1500),
  NOT_IMPLEMENTED: () => new NotImplementedError('vdisk.move', 'issue 12'),
  TASK_NOT_FOUND: () => new TaskNotFoundError('t-1'),
  INTERNAL: () => new InternalError('boom', new TypeError('boom')),
  OBJECT_NOT_FOUND: () => new ObjectNotFoundError('vdisk', 'g1'),
  UNIQUE_CONSTRAINT_VIOLATION: () => new UniqueConstraintError('vpool', 'name', 'pool1'),
  RACE_CONDITION: () => new RaceConditionError('/ovs/x', 10),
  LINKED_OBJECT: () => new LinkedObjectError('storagerouter', 'g1', 'disks', 2),
  MISSING_MANDATORY_FIELDS: () => new MissingMandatoryFieldsError('disk', ['storagerouter_guid']),
  HOST_COMMAND_FAILED: () => new HostCommandError('lsblk', 'exit code 32', true),
  VOLUME_NOT_FOUND: () => new VolumeNotFoundError('volume v1 is not running on node n1', { volume_id: 'v1', running: false }),
  FILE_EXISTS: () => new VolumeExistsError('/v1.raw exists', { target_path: '/v1.raw' }),
  SNAPSHOT_NOT_FOUND: () => new SnapshotNotFoundError('vDisk g1 has no snapshot with timestamp 17', { vdisk_guid: 'g1', timestamp: '17' }),
  SNAPSHOT_EXISTS: () => new SnapshotExistsError('snapshot s1 exists on v1'),
  OBJECT_STILL_HAS_CHILDREN: () => new ObjectStillHasChildrenError('vDisk g1 has 2 clone(s)', { clones: 2 }),
  PREVIOUS_SNAPSHOT_NOT_ON_BACKEND: () => new PreviousSnapshotNotOnBackendError('previous snapshot s1 is not yet in the backend', { snapshot_id: 's1' }),
  INVALID_OPERATION: () => new InvalidOperationError('vDisk g1 is not a template', { vdisk_guid: 'g1' }),
  CANNOT_SHRINK: () => new CannotShrinkError('volume v1 is 8 bytes; it cannot shrink to 4'),
  NOT_OWNER: () => new NotOwnerError('volume v1 is registered to node n2, not n1', { volume_id: 'v1', node_id: 'n2' }),
  VOLUME_HALTED: () => new VolumeHaltedError('volume v1 is halted: fenced', { volume_id: 'v1' }),
  OUT_OF_RANGE: () => new OutOfRangeError('I/O outside v1', { offset: 4096, length: 512, size: 4096 }),
  DTL_ERROR: () => new DtlError('DTL 10.0.0.2:26203 fenced ns1: a newer owner registered', { reason: 'fenced', ns: 'ns1', host: '10.0.0.2', port: 26203 }),
  READ_ONLY: () => new ReadOnlyVolumeError('volume v1 is a template (read-only)'),
  SCRUB_BUSY: () => new errors.ScrubBusyError('volume v1 is under a scrub lease held by node2:ab', { volume_id: 'v1', holder: 'node2:ab', waited_ms: 30000 }),
  INVALID_SIZE: () => new InvalidSizeError('size 5 is not a positive multiple of the cluster size 4096', { size: 5, cluster_size: 4096 }),
  BACKEND_ERROR: () => new BackendError('local backend I/O failed: EIO', { ns: 'ns1', name: 'o1', code: 'EIO' }),
  BACKEND_INVALID_REQUEST: () => new BackendRequestError('invalid object name "../x"', { kind: 'object', name: '../x' }),
  BACKEND_OBJECT_MISSING: () => new ObjectMissingError('ns1', 'o1'),
  BACKEND_OBJECT_EXISTS: () => new ObjectExistsError('ns1', 'o1'),
  BACKEND_NAMESPACE_MISSING: () => new NamespaceMissingError('ns1'),
  BACKEND_NAMESPACE_EXISTS: () => new NamespaceExistsError('ns1'),
  FENCED: () => new FencedError('ns1', 'etag-1', undefined),
  NAME_IN_USE: () => new NameInUseError('/a.raw', 'pool1'),
  VOLUME_RUNNING: () => new VolumeRunningError('g1'),
  INVALID_DTL_SETTINGS: () => new InvalidDtlSettingsError('DTL targets need a DTL mode other than no_sync', { dtl_target: ['sd2'] }),
  VPOOL_ERROR: () => new VpoolError('no 4 free ports left', { ranges: [[26200, 26299]] }),
  VPOOL_NOT_EXTENDED: () => new VpoolNotExtendedError('pool1', 'v1', 'node-2', 's2'),
  SNAPSHOT_DELETE_FAILED: () => new RetentionError(['disk1: snapshot s1 has clones']),
  ENGINE_CONFIG: () => new EngineConfigError('/ovs/framework/upkeep is malformed: task_results_keep_s: Expected number', { key: '/ovs/framework/upkeep' }),
  HOOK_FAILED: () => new HookFailedError('backend/domains-update', 'alba', 'INTERNAL', 'boom'),
  MIGRATION_FAILED: () => new MigrationFailedError('stats_monkey_integration', 'boom', ['model_declared_fields']),
  IDEMPOTENCY_KEY_REUSED: () => new IdempotencyKeyReusedError('vdisk.create_snapshot', 'k-1'),
  IDEMPOTENCY_OUTCOME_UNKNOWN: () => new IdempotencyOutcomeUnknownError('vdisk.create_snapshot', 'k-1', 't-1', 'sr-1'),
  NO_SCRUB_LOCATIONS: () => new NoScrubLocationsError(null),
  SCRUB_FAILED: () => new ScrubFailedError([{ vdisk_guid: 'g1', name: 'disk1', error: 'the owner did not answer' }], 2),
  STORAGEDRIVER_NOT_IN_MODEL: () => new StorageDriverNotInModelError('pool1abc'),
  DTL_CHECKUP_FAILED: () => new DtlCheckupError(['vDisk g1: its owner did not answer']),
  CONFIG_UPDATE_FAILED: () => new ConfigUpdateError('g1', ['no DTL target could be configured']),
  STORAGEDRIVER_IN_USE: () => new StorageDriverInUseError('sd1', [{ guid: 'g1', name: 'disk1' }]),
  DISK_CONFIGURATION_REFUSED: () => new errors.DiskConfigurationError('Roles in use cannot be removed. Used roles: WRITE', { reason: 'roles_in_use', storagerouter_guid: 'sr1', disk_guid: 'd1', partition_guid: 'p1', roles: ['WRITE'] }),
  MDS_ERROR: () => new errors.MdsError('catch-up of vd1 on 127.0.0.2:26300 failed: backend object vd1/snapshots.json does not exist', { service: '127.0.0.2:26300', namespace: 'vd1' }),
  MDS_NAMESPACE_NOT_FOUND: () => new errors.MdsNamespaceNotFoundError('127.0.0.2:26300 holds no table for namespace vd1', { service: '127.0.0.2:26300', namespace: 'vd1' }),
  MDS_NO_UPDATES_ON_SLAVE: () => new errors.MdsRoleError('table vd1 on 127.0.0.2:26300 is a SLAVE: it takes no updates', { service: '127.0.0.2:26300', namespace: 'vd1', role: 'SLAVE' }),
  MDS_OWNER_TAG_MISMATCH: () => new errors.MdsOwnerTagError('table vd1 on 127.0.0.2:26300 belongs to owner tag 7, not 5', { service: '127.0.0.2:26300', namespace: 'vd1', owner_tag: 5, expected_owner_tag: 7 }),
  MDS_UNAVAILABLE: () => new errors.MdsUnavailableError('MDS 127.0.0.2:26300 does not answer', { service: '127.0.0.2:26300' }),
  MDS_SAFETY: () => new errors.MdsSafetyError("the vDisk's host 10.0.0.1 is excluded: the vDisk cannot be made safe", { vdisk_storagerouter: 'sr1', reason: 'excluded' }),
  INJECTED_FAULT: () => new errors.InjectedFaultError('backend.put', 'ns1/sco_00001'),
  UPDATE_SOURCE: () => new errors.UpdateSourceError('update source /srv/ovs-0.2.0.tgz does not exist or is not a file', { source: '/srv/ovs-0.2.0.tgz' }),
  UPDATE_INSTALL_FAILED: () => new errors.UpdateInstallError('release 0.2.0 fails its start check: SyntaxError', { version: '0.2.0' }),
  UPDATE_REFUSED: () => new errors.UpdateRefusedError('update u1 to 0.2.0 is still running', { update_id: 'u1' }),
  TEST_MODE_OFF: () => new errors.TestModeOffError(),
  STATS_CONFIG: () => new errors.StatsConfigError('/ovs/framework/monitoring/stats_monkey is missing or invalid: transport: invalid option', { issues: [{ path: 'transport', message: 'invalid option' }] }),
  STATS_SEND_FAILED: () => new errors.StatsSendError(['get_stats_vpools'], { get_stats_vpools: 'connect ECONNREFUSED 127.0.0.1:6379' }),
  SUPPORT_NOT_AVAILABLE: () => new errors.SupportUnavailableError('remote access is not available in this port', { remote_access: true }),
  NATS_CONNECTION_CONFIG: () => new errors.NatsConnectionConfigError('--tls-cert', 'needs --tls-key'),
  PERMISSION_DENIED: () => new errors.PermissionDeniedError('ovs.task.vdisk.delete', 'publish'),
  AUTHENTICATION_FAILED: () => new errors.AuthenticationFailedError("the NATS server refused the connection: 'Authorization Violation'"),
  NBD_TLS_CONFIG: () => new errors.NbdTlsConfigError('vp-1', '/ovs/vpools/vp-1/nbd_tls', "ENOENT: no such file or directory, open '/etc/ovs/nbd/server-key.pem'"),
};

const registered = registeredTypes();

function overTheWire(e: OvsError, encoding: Encoding): OvsError {
  return fromWire(decode(encode(e.toWire(), encoding), encoding) as WireError);
}

test('every registered type has exactly one sample here, and every sample is of its registered type', (t) => {
  t.deepEqual(registered.map((r) => r.spec.type).sort(), Object.keys(SAMPLES).sort());
  for (const { errorClass, spec } of registered) {
    const sample = SAMPLES[spec.type]!();
    t.is(sample.constructor, errorClass, spec.type);
    t.is(sample.type, spec.type);
    if (spec.retryable !== 'per instance') t.is(sample.retryable, spec.retryable, spec.type);
    t.true(spec.meaning.length > 0 && !spec.meaning.includes('\n'), `${spec.type}: meaning is one line`);
  }
});

test('every error class that src/errors.ts exports is registered (one class per type)', (t) => {
  const classes = Object.values(errors).filter((v): v is typeof OvsError => typeof v === 'function' && v.prototype instanceof OvsError && v !== RegisteredError);
  t.true(classes.length > 0);
  for (const c of classes) t.is(registered.filter((r) => r.errorClass === c).length, 1, c.name);
  t.is(classes.length, registered.length);
});

for (const encoding of ['msgpack', 'json'] as const) {
  test(`every registered type survives the wire (${encoding}) as its own class with its details`, (t) => {
    for (const { errorClass, spec } of registered) {
      const original = SAMPLES[spec.type]!();
      const back = overTheWire(original, encoding);
      t.is(back.constructor, errorClass, spec.type);
      t.true(back instanceof errorClass);
      t.is(back.name, errorClass.name);
      t.is(back.type, original.type);
      t.is(back.retryable, original.retryable, spec.type);
      t.is(back.message, original.message);
      t.deepEqual(back.details, original.details, spec.type);
    }
  });
}

test('a subclass type stays its parent class too, on both sides of the wire', (t) => {
  const back = overTheWire(new BackendRequestError('bad range -1+10', { ns: 'ns1', name: 'o1' }), 'msgpack');
  t.true(back instanceof BackendRequestError);
  t.true(back instanceof BackendError);
  t.false(back.retryable);
  t.true(new BackendError('EIO').retryable);
});

test('a per-instance retryable flag survives the wire; a fixed one cannot be overridden', (t) => {
  for (const retryable of [true, false]) t.is(overTheWire(new HostCommandError('lsblk', 'x', retryable), 'json').retryable, retryable);
  class FixedError extends RegisteredError {
    static {
      registerError(this, { type: 'TEST_FIXED_RETRYABLE', retryable: false, meaning: 'test' });
    }
  }
  t.throws(() => new FixedError('m', {}, { retryable: true }), { message: /not retryable by its type/ });
});

test('registering a type twice throws when the second class is evaluated', (t) => {
  t.throws(
    () =>
      class DuplicateError extends RegisteredError {
        static {
          registerError(this, { type: 'FENCED', retryable: false, meaning: 'a second FENCED' });
        }
      },
    { message: /FENCED is registered twice: by FencedError and by DuplicateError/ },
  );
  t.is(registeredType('FENCED')?.errorClass, FencedError);
  t.throws(() => registerError(FencedError, { type: 'TEST_SECOND_TYPE', retryable: false, meaning: 'x' }), { message: /FencedError is registered twice/ });
  t.throws(() => registerError(class LowerError extends OvsError {}, { type: 'lower_case', retryable: false, meaning: 'x' }), { message: /UPPER_SNAKE/ });
});

test('a class that forgot to register cannot be thrown unnoticed', (t) => {
  class UnregisteredError extends RegisteredError {}
  t.throws(() => new UnregisteredError('m', {}), { message: /UnregisteredError has no registerError/ });
});

test('the volume driver and the model have their own not-found types', (t) => {
  t.not(new VolumeNotFoundError('v').type, new ObjectNotFoundError('vdisk', 'g').type);
  t.false(overTheWire(new VolumeNotFoundError('v'), 'msgpack') instanceof ObjectNotFoundError);
});

test('unknown error types stay OvsErrors with their type, flag and details', (t) => {
  const back = fromWire({ type: 'FROM_THE_FUTURE', message: 'm', retryable: true, details: { a: 1 } });
  t.is(back.constructor, OvsError);
  t.is(back.type, 'FROM_THE_FUTURE');
  t.true(back.retryable);
  t.deepEqual(back.details, { a: 1 });
  t.deepEqual(fromWire({ type: 'INTERNAL', message: 'm', retryable: false, details: null as never }).details, {});
});

test('anything thrown becomes an INTERNAL OvsError, never lost', (t) => {
  const cause = new TypeError('x');
  const e = asOvsError(cause);
  t.true(e instanceof InternalError);
  t.is(e.type, 'INTERNAL');
  t.false(e.retryable);
  t.is(e.message, 'x');
  t.is(e.cause, cause);
  t.is(asOvsError('plain string').message, 'plain string');
  const typed = new FencedError('ns1', 'a', 'b');
  t.is(asOvsError(typed), typed);
});

test("the README's list of error types is the registry's (regenerate: npm run build && node scripts/errors-doc.mjs)", (t) => {
  const readme = readFileSync('README.md', 'utf8');
  const section = /<!-- error-types:begin[^>]*-->\n([\s\S]*?)\n<!-- error-types:end -->/.exec(readme);
  t.truthy(section, 'README.md has no error-types section');
  // The types as loaded, before the tests above registered their own.
  t.is(section?.[1], errorTypesMarkdown(registered));
});

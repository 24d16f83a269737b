import test from 'ava';
import { ValidationError } from '../../src/errors.js';
import { VOLDRV_METHODS } from '../../src/storagedriver/voldrv-api.js';
import { VOLDRV_ARGS } from '../../src/storagedriver/voldrv-args.js';
import { parseWith } from '../../src/transport/validate.js';
import { TEST_GEOMETRY } from '../../src/dataplane/common/geometry.js';
import { scrubWorkUnits } from '../../src/dataplane/scrub/work-units.js';
import type { SnapshotsFile } from '../../src/dataplane/snapshots/types.js';

test('every data-plane call has an argument schema, and none takes an unknown field', (t) => {
  for (const m of [...VOLDRV_METHODS, 'registrations' as const]) {
    t.false(VOLDRV_ARGS[m].safeParse({ fuzz_unknown_field: 1, volume_id: 'v', node_id: 'n' }).success, m);
  }
});

test('a set_node_state without a node or with another state is refused before it reaches the registry', (t) => {
  t.throws(() => parseWith(VOLDRV_ARGS.set_node_state, {}, 'voldrv.set_node_state'), { instanceOf: ValidationError });
  t.throws(() => parseWith(VOLDRV_ARGS.set_node_state, { node_id: 'n1', state: 'GONE' }, 'voldrv.set_node_state'), { instanceOf: ValidationError });
  t.deepEqual(parseWith(VOLDRV_ARGS.set_node_state, { node_id: 'n1', state: 'OFFLINE' }, 'voldrv.set_node_state'), { node_id: 'n1', state: 'OFFLINE' });
});

test('the calls other agents make pass as they are made: optional fields left undefined, sizes as numbers or "<bytes>B", binary metadata', (t) => {
  t.true(VOLDRV_ARGS.create_volume.safeParse({ target_path: '/mnt/p/v.raw', volume_size: '1073741824B', node_id: undefined, volume_id: undefined }).success);
  t.true(VOLDRV_ARGS.truncate.safeParse({ object_id: 'v', new_size: 2 ** 31 }).success);
  t.true(VOLDRV_ARGS.create_snapshot.safeParse({ volume_id: 'v', snapshot_id: 's', metadata: Buffer.from('{}') }).success);
  t.true(VOLDRV_ARGS.set_manual_dtl_config.safeParse({ volume_id: 'v', config: null }).success);
  t.true(VOLDRV_ARGS.list_volumes.safeParse({}).success);
  t.false(VOLDRV_ARGS.info_volume.safeParse({ volume_id: 12345 }).success);
});

test('a scrub work unit as the owner hands it out passes; one naming a TLog with a bad shape or an unknown field does not', (t) => {
  const doc: SnapshotsFile = {
    version: 1, parent: null, scrubId: 'x', lastScoNumber: 1, useHash: false,
    snapshots: [{ num: 1, name: 's1', uuid: 'u', date: '', metadata: '', scrubbed: false, tlogs: [{ id: 'tlog_a', written: true, size: 4096 }] }],
    current: [{ id: 'tlog_b', written: false, size: 0 }],
  };
  const [work] = scrubWorkUnits(doc, { ns: 'v', volumeId: 'v', isTemplate: false, ...TEST_GEOMETRY });
  t.deepEqual(work!.tlogs, [{ id: 'tlog_a', written: true, size: 4096 }]);
  t.true(VOLDRV_ARGS.scrub.safeParse({ work }).success);
  t.false(VOLDRV_ARGS.scrub.safeParse({ work: { ...work, tlogs: [{ id: 7 }] } }).success);
  t.false(VOLDRV_ARGS.scrub.safeParse({ work: { ...work, tlogs: undefined } }).success);
  t.false(VOLDRV_ARGS.scrub.safeParse({ work: { ...work, extra: 1 } }).success);
  t.false(VOLDRV_ARGS.scrub.safeParse({ work: { ...work, fillRatio: 3 } }).success);
});

import test from 'ava';
import type { Registration } from '../../src/dataplane/driver/registry.js';
import { findDescendantProblems } from '../../src/dataplane/registry/descendants-check.js';
import { decodeValue, encodeValue, registrationKey, registryBucketName } from '../../src/dataplane/registry/keys.js';
import { RegistryMirror } from '../../src/dataplane/registry/mirror.js';

function reg(id: string, extra: Partial<Registration> = {}): Registration {
  return {
    object_id: id, namespace: id, node_id: 'n1', object_type: 'BASE', target_path: `/${id}.raw`,
    parent_volume: null, parent_snapshot: null, descendants: {}, owner_tag: 1, ...extra,
  };
}

test('the mirror keeps the newest revision of a key: an older value arriving late changes nothing', (t) => {
  const m = new RegistryMirror();
  t.true(m.apply(registrationKey('a'), 5, reg('a', { owner_tag: 5 })));
  t.false(m.apply(registrationKey('a'), 3, reg('a', { owner_tag: 3 })), 'the watch delivering an older revision after our own write');
  t.is(m.registration('a')?.owner_tag, 5);
  t.true(m.apply(registrationKey('a'), 7, undefined));
  t.false(m.apply(registrationKey('a'), 6, reg('a')), 'a deletion is remembered, so an older put cannot bring the key back');
  t.is(m.registration('a'), undefined);
  t.true(m.apply(registrationKey('a'), 9, reg('a', { owner_tag: 9 })), 'a newer create after the deletion is taken');
  t.is(m.registration('a')?.owner_tag, 9);
});

test('the path index follows renames and deletions, and readers get frozen objects', (t) => {
  const m = new RegistryMirror();
  m.apply(registrationKey('a'), 1, reg('a'));
  t.is(m.registrationAt('/a.raw')?.object_id, 'a');
  m.apply(registrationKey('a'), 2, reg('a', { target_path: '/moved.raw' }));
  t.is(m.registrationAt('/a.raw'), undefined);
  t.is(m.registrationAt('/moved.raw')?.object_id, 'a');
  t.throws(() => {
    m.registration('a')!.descendants.x = null;
  });
  m.apply(registrationKey('a'), 3, undefined);
  t.is(m.registrationAt('/moved.raw'), undefined);
  t.deepEqual(m.allRegistrations(), []);
});

test('bucket names keep only the characters NATS allows; malformed values decode to nothing', (t) => {
  t.is(registryBucketName('a1b2-c3_d.e/f g'), 'ovs_registry_a1b2-c3_d_e_f_g');
  t.is(decodeValue('owner_tag_counter', encodeValue(12)), 12);
  t.is(decodeValue('owner_tag_counter', encodeValue('x')), undefined);
  t.is(decodeValue('reg.a', Buffer.from('{not json')), undefined);
  t.is(decodeValue('reg.a', encodeValue({ object_id: 'a' })), undefined);
  t.deepEqual(decodeValue('cluster_configuration', encodeValue({ n1: { state: 'ONLINE' } })), { n1: { state: 'ONLINE' } });
  t.is(decodeValue('cluster_configuration', encodeValue({ n1: { state: 'MAYBE' } })), undefined);
});

test('the descendants check finds clones their parent does not list and listed clones that are gone', (t) => {
  const parent = reg('p', { descendants: { c1: 's1', ghost: 's1' } });
  const problems = findDescendantProblems([
    parent,
    reg('c1', { parent_volume: 'p', parent_snapshot: 's1' }),
    reg('c2', { parent_volume: 'p', parent_snapshot: 's2' }),
    reg('orphan', { parent_volume: 'gone', parent_snapshot: 's' }),
  ]);
  t.deepEqual(problems.unlisted, [{ parent: 'p', clone: 'c2', snapshot: 's2' }]);
  t.deepEqual(problems.stale, [{ parent: 'p', clone: 'ghost' }]);
});

import test from 'ava';
import {
  evacuationTargets, mergeDeep, mergeDowntimeInformation, mergePackageInformation, packageInformation, updateOrder,
  type EvacuationInput, type NodeFacts, type PackageInformation, type VpoolFacts,
} from '../../src/policies/update-plan.js';

const node = (guid: string, more: Partial<NodeFacts> = {}): NodeFacts => ({ guid, name: `n-${guid}`, ip: `10.0.0.${guid.length}`, reachable: true, installed: '1.0.0', candidate: '1.1.0', canRelaunch: true, ...more });
const pool = (name: string, storagerouters: string[], owners: string[]): VpoolFacts => ({ name, storagerouters, owners });

const infoCases: Array<{ title: string; node: NodeFacts; cluster: NodeFacts[]; vpools: VpoolFacts[]; expect: { packages?: unknown; downtime?: unknown; prerequisites?: unknown } | null }> = [
  { title: 'candidate newer: one component with the agent package', node: node('a'), cluster: [node('a'), node('b')], vpools: [pool('p', ['a', 'b'], ['a'])], expect: { packages: { ovs: { installed: '1.0.0', candidate: '1.1.0' } }, downtime: [], prerequisites: [] } },
  { title: 'candidate equal to what runs: nothing to update', node: node('a', { candidate: '1.0.0' }), cluster: [node('a')], vpools: [], expect: null },
  { title: 'no source configured: nothing to update', node: node('a', { candidate: undefined }), cluster: [node('a')], vpools: [], expect: null },
  { title: 'an unreachable node stores nothing itself', node: node('a', { reachable: false, installed: undefined }), cluster: [node('a', { reachable: false })], vpools: [], expect: null },
  {
    title: 'another node down is a prerequisite on every node (spec §4.6 step 5)',
    node: node('a'), cluster: [node('a'), node('bb', { reachable: false })], vpools: [],
    expect: { packages: { ovs: { installed: '1.0.0', candidate: '1.1.0' } }, downtime: [], prerequisites: [['node_down', 'n-bb']] },
  },
  {
    title: 'a node that cannot restart itself (ovs up) is a prerequisite',
    node: node('a'), cluster: [node('a'), node('bb', { canRelaunch: false })], vpools: [],
    expect: { packages: { ovs: { installed: '1.0.0', candidate: '1.1.0' } }, downtime: [], prerequisites: [['manual_restart', 'n-bb']] },
  },
  {
    title: 'vDisks of a single-node vPool cannot move: downtime for that vPool only',
    node: node('a'), cluster: [node('a'), node('bb')], vpools: [pool('alone', ['a'], ['a']), pool('shared', ['a', 'bb'], ['a']), pool('empty', ['a'], [])],
    expect: { packages: { ovs: { installed: '1.0.0', candidate: '1.1.0' } }, downtime: [['voldrv', 'alone']], prerequisites: [] },
  },
];

for (const c of infoCases) {
  test(`package information: ${c.title}`, (t) => {
    const info = packageInformation(c.node, c.cluster, c.vpools);
    if (c.expect === null) {
      t.deepEqual(info, {});
      return;
    }
    t.deepEqual(info.framework?.packages, c.expect.packages);
    t.deepEqual(info.framework?.downtime, c.expect.downtime);
    t.deepEqual(info.framework?.prerequisites, c.expect.prerequisites);
  });
}

test('merge: maps recurse, lists concatenate, scalars keep the first (the original hook merge)', (t) => {
  t.deepEqual(mergeDeep({ a: { x: 1, l: [1] }, s: 'first' }, { a: { y: 2, l: [2] }, s: 'second', n: 3 }), { a: { x: 1, y: 2, l: [1, 2] }, s: 'first', n: 3 });
});

const withInfo = (ip: string, info: PackageInformation): { ip: string; package_information: PackageInformation } => ({ ip, package_information: info });
const fw = (downtime: Array<[string, string | null]>, prerequisites: Array<[string, string | null]>): PackageInformation => ({
  framework: { packages: { ovs: { installed: '1', candidate: '2' } }, downtime, prerequisites, services_stop_start: { 10: [], 20: [] }, services_post_update: { 10: [], 20: [] } },
});

test('merge_package_information keeps only the packages per component, per ip', (t) => {
  t.deepEqual(mergePackageInformation([withInfo('10.0.0.1', fw([], [])), withInfo('10.0.0.2', {})]), { '10.0.0.1': { framework: { ovs: { installed: '1', candidate: '2' } } }, '10.0.0.2': {} });
});

test('merge_downtime_information: union per component without duplicates', (t) => {
  const merged = mergeDowntimeInformation([
    withInfo('1', fw([['voldrv', 'p1']], [['node_down', 'c']])),
    withInfo('2', fw([['voldrv', 'p1'], ['voldrv', 'p2']], [['node_down', 'c']])),
    withInfo('3', {}),
  ]);
  t.deepEqual(merged, { framework: { downtime: [['voldrv', 'p1'], ['voldrv', 'p2']], prerequisites: [['node_down', 'c']] } });
});

const orderCases: Array<{ title: string; ips: string[]; runner: string; order: string[] }> = [
  { title: 'numeric per octet, not text', ips: ['10.0.0.10', '10.0.0.9', '10.0.0.100'], runner: 'none', order: ['10.0.0.9', '10.0.0.10', '10.0.0.100'] },
  { title: 'the node running the update goes last', ips: ['10.0.0.1', '10.0.0.2', '10.0.0.3'], runner: '10.0.0.1', order: ['10.0.0.2', '10.0.0.3', '10.0.0.1'] },
];
for (const c of orderCases) {
  test(`update order: ${c.title}`, (t) => {
    t.deepEqual(updateOrder(c.ips.map((ip) => ({ guid: ip, ip })), c.runner).map((n) => n.ip), c.order);
  });
}

const evacCases: Array<{ title: string; input: EvacuationInput; moves: Array<[string, string]>; stays: string[] }> = [
  {
    title: 'spread over the other nodes by load, counting what was placed',
    input: { node: 'a', vdisks: [{ guid: 'd1', vpool: 'p' }, { guid: 'd2', vpool: 'p' }, { guid: 'd3', vpool: 'p' }], hosts: { p: ['a', 'b', 'c'] }, load: { a: 3, b: 1, c: 0 } },
    moves: [['d1', 'c'], ['d2', 'b'], ['d3', 'c']], stays: [],
  },
  {
    title: 'never onto the node itself; a vPool with no other node keeps its vDisk',
    input: { node: 'a', vdisks: [{ guid: 'd1', vpool: 'alone' }, { guid: 'd2', vpool: 'p' }], hosts: { alone: ['a'], p: ['a', 'b'] }, load: {} },
    moves: [['d2', 'b']], stays: ['d1'],
  },
  {
    title: 'only nodes of the vDisk\'s own vPool',
    input: { node: 'a', vdisks: [{ guid: 'd1', vpool: 'p' }], hosts: { p: ['a', 'b'], q: ['c'] }, load: { b: 50, c: 0 } },
    moves: [['d1', 'b']], stays: [],
  },
];
for (const c of evacCases) {
  test(`evacuation: ${c.title}`, (t) => {
    const r = evacuationTargets(c.input);
    t.deepEqual(r.moves.map((m) => [m.vdisk, m.target]), c.moves);
    t.deepEqual(r.stays, c.stays);
  });
}

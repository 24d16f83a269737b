import test from 'ava';
import { divideScrubWork, type ScrubCandidate, type ScrubNode } from '../../src/policies/scrub-division.js';

const vd = (guid: string, vpool = 'p1'): ScrubCandidate => ({ vdiskGuid: guid, vpoolGuid: vpool });
const node = (sr: string, vpools: string[], answering = true): ScrubNode => ({ storagerouterGuid: sr, answering, storagedrivers: Object.fromEntries(vpools.map((p) => [p, `sd-${p}-${sr}`])) });

interface Row {
  name: string;
  vdisks: ScrubCandidate[];
  nodes: ScrubNode[];
  /** node → its vDisk guids, in order */
  expect: Record<string, string[]>;
  unassigned?: string[];
}

const table: Row[] = [
  {
    name: 'one node takes everything, in the given order',
    vdisks: [vd('a'), vd('b'), vd('c')],
    nodes: [node('n1', ['p1'])],
    expect: { n1: ['a', 'b', 'c'] },
  },
  {
    name: 'spread evenly over the nodes (difference at most one)',
    vdisks: ['a', 'b', 'c', 'd', 'e'].map((g) => vd(g)),
    nodes: [node('n1', ['p1']), node('n2', ['p1'])],
    expect: { n1: ['a', 'c', 'e'], n2: ['b', 'd'] },
  },
  {
    name: 'a node whose agent does not answer gets nothing',
    vdisks: ['a', 'b', 'c', 'd'].map((g) => vd(g)),
    nodes: [node('n1', ['p1']), node('n2', ['p1'], false), node('n3', ['p1'])],
    expect: { n1: ['a', 'c'], n3: ['b', 'd'] },
  },
  {
    name: 'only nodes with a StorageDriver of the vPool; the constrained vDisks are placed first so the rest balances',
    // n1 serves p1 and p2, n2 only p1: the two p2 vDisks must go to n1, so the p1 vDisks go to n2.
    vdisks: [vd('a', 'p1'), vd('b', 'p1'), vd('x', 'p2'), vd('y', 'p2')],
    nodes: [node('n1', ['p1', 'p2']), node('n2', ['p1'])],
    expect: { n1: ['x', 'y'], n2: ['a', 'b'] },
  },
  {
    name: 'a vDisk of a vPool no answering node serves stays unassigned',
    vdisks: [vd('a', 'p1'), vd('z', 'p9'), vd('b', 'p2')],
    nodes: [node('n1', ['p1']), node('n2', ['p2'], false)],
    expect: { n1: ['a'] },
    unassigned: ['z', 'b'],
  },
  {
    name: 'no answering node: everything unassigned, no assignments',
    vdisks: [vd('a')],
    nodes: [node('n1', ['p1'], false)],
    expect: {},
    unassigned: ['a'],
  },
  {
    name: 'nothing to scrub',
    vdisks: [],
    nodes: [node('n1', ['p1'])],
    expect: {},
  },
];

for (const row of table) {
  test(`scrub division: ${row.name}`, (t) => {
    const { assignments, unassigned } = divideScrubWork(row.vdisks, row.nodes);
    t.deepEqual(Object.fromEntries([...assignments].map(([sr, list]) => [sr, list.map((v) => v.vdiskGuid)])), row.expect);
    t.deepEqual(unassigned.map((v) => v.vdiskGuid), row.unassigned ?? []);
  });
}

test('scrub division: every vDisk is given to exactly one node', (t) => {
  const vdisks = Array.from({ length: 50 }, (_, i) => vd(`v${i}`, `p${i % 3}`));
  const nodes = [node('n1', ['p0', 'p1']), node('n2', ['p1', 'p2']), node('n3', ['p0', 'p2']), node('n4', ['p0'], false)];
  const { assignments, unassigned } = divideScrubWork(vdisks, nodes);
  const given = [...assignments.values()].flat().map((v) => v.vdiskGuid);
  t.is(new Set(given).size, given.length, 'no vDisk twice');
  t.is(given.length + unassigned.length, vdisks.length);
  const loads = [...assignments.values()].map((l) => l.length);
  t.true(Math.max(...loads) - Math.min(...loads) <= 1, `even: ${loads.join(',')}`);
  t.false(assignments.has('n4'));
});

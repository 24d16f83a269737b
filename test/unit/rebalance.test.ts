import test from 'ava';
import { exportBalances, movesOfBalances, planRebalance, type BalanceRecord, type RebalanceNode } from '../../src/policies/rebalance.js';

const vds = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(2, '0')}`);
const node = (sd: string, n: number, extra: Partial<RebalanceNode> = {}): RebalanceNode => ({ storagedriver: sd, storagerouter: `sr-${sd}`, vdisks: vds(`${sd}-v`, n), ...extra });

interface Case {
  title: string;
  nodes: RebalanceNode[];
  after: Record<string, number>;
  moves: number;
  unplaced?: number;
}

const cases: Case[] = [
  { title: 'even already: nothing moves', nodes: [node('a', 3), node('b', 3), node('c', 3)], after: { a: 3, b: 3, c: 3 }, moves: 0 },
  { title: 'one apart is even enough', nodes: [node('a', 4), node('b', 3), node('c', 3)], after: { a: 4, b: 3, c: 3 }, moves: 0 },
  { title: 'one heavy node spreads over the others', nodes: [node('a', 4), node('b', 0), node('c', 0)], after: { a: 2, b: 1, c: 1 }, moves: 2 },
  { title: 'a new empty node takes its share', nodes: [node('a', 5), node('b', 5), node('c', 0)], after: { a: 4, b: 3, c: 3 }, moves: 3 },
  { title: 'the one-more shares stay where the vDisks are', nodes: [node('a', 7), node('b', 4), node('c', 0)], after: { a: 4, b: 4, c: 3 }, moves: 3 },
  { title: 'an excluded node neither gives nor takes', nodes: [node('a', 6), node('b', 0), node('c', 9, { excluded: true })], after: { a: 3, b: 3, c: 9 }, moves: 3 },
  { title: 'an excluded empty node takes nothing', nodes: [node('a', 4), node('b', 0), node('c', 0, { excluded: true })], after: { a: 2, b: 2, c: 0 }, moves: 2 },
  { title: 'an evacuated node gives everything', nodes: [node('a', 4, { evacuate: true }), node('b', 1), node('c', 1)], after: { a: 0, b: 3, c: 3 }, moves: 4 },
  { title: 'excluded wins over evacuate', nodes: [node('a', 4, { evacuate: true, excluded: true }), node('b', 2), node('c', 0)], after: { a: 4, b: 1, c: 1 }, moves: 1 },
  { title: 'evacuating with nowhere to go leaves the vDisks unplaced', nodes: [node('a', 2, { evacuate: true }), node('b', 5, { excluded: true })], after: { a: 2, b: 5 }, moves: 0, unplaced: 2 },
  { title: 'a single node: nothing to do', nodes: [node('a', 8)], after: { a: 8 }, moves: 0 },
  { title: 'no vDisks at all', nodes: [node('a', 0), node('b', 0)], after: { a: 0, b: 0 }, moves: 0 },
  { title: 'no StorageDrivers', nodes: [], after: {}, moves: 0 },
  { title: 'ties go to the lower guid', nodes: [node('c', 1), node('b', 0), node('a', 0)], after: { a: 0, b: 0, c: 1 }, moves: 0 },
  { title: 'a tie for the one-more share goes to the lower guid', nodes: [node('b', 4), node('a', 4), node('c', 2)], after: { a: 4, b: 3, c: 3 }, moves: 1 },
  { title: 'two heavy nodes and a light one', nodes: [node('b', 5), node('a', 5), node('c', 1)], after: { a: 4, b: 4, c: 3 }, moves: 2 },
];

/** The fewest moves that make the usable nodes at most one apart, computed the slow way. */
function fewestMoves(nodes: readonly RebalanceNode[]): number {
  const usable = nodes.filter((n) => !n.excluded && !n.evacuate);
  const evacuees = nodes.filter((n) => !n.excluded && n.evacuate);
  if (usable.length === 0) return 0;
  const total = [...usable, ...evacuees].reduce((s, n) => s + n.vdisks.length, 0);
  const counts = usable.map((n) => n.vdisks.length).sort((a, b) => b - a);
  const base = Math.floor(total / usable.length);
  const extra = total % usable.length;
  const excess = counts.reduce((s, c, i) => s + Math.max(0, c - (base + (i < extra ? 1 : 0))), 0);
  return excess + evacuees.reduce((s, n) => s + n.vdisks.length, 0);
}

for (const c of cases) {
  test(`rebalance: ${c.title}`, (t) => {
    const plan = planRebalance(c.nodes);
    t.deepEqual(plan.after, c.after);
    t.is(plan.moves.length, c.moves);
    t.is(plan.moves.length, fewestMoves(c.nodes), 'the fewest moves');
    t.is(plan.unplaced.length, c.unplaced ?? 0);
    // Replayed one by one: no balancing move leaves its target above its source; nothing lands on an excluded node.
    const count = new Map(c.nodes.map((n) => [n.storagedriver, n.vdisks.length]));
    const where = new Map(c.nodes.flatMap((n) => n.vdisks.map((v) => [v, n.storagedriver] as const)));
    for (const m of plan.moves) {
      const target = c.nodes.find((n) => n.storagedriver === m.to)!;
      t.falsy(target.excluded || target.evacuate, `${m.vdisk} onto ${m.to}`);
      t.is(where.get(m.vdisk), m.from, `${m.vdisk} is moved from where it is`);
      t.is(m.to_storagerouter, target.storagerouter);
      where.set(m.vdisk, m.to);
      count.set(m.from, count.get(m.from)! - 1);
      count.set(m.to, count.get(m.to)! + 1);
      const source = c.nodes.find((n) => n.storagedriver === m.from)!;
      if (!source.evacuate) t.true(count.get(m.to)! <= count.get(m.from)!, `${m.vdisk}: ${m.to} holds ${count.get(m.to)}, ${m.from} ${count.get(m.from)}`);
    }
    t.deepEqual(Object.fromEntries(count), c.after);
    t.deepEqual(planRebalance([...c.nodes].reverse()), plan, 'the order of the input does not matter');
  });
}

test('the vDisks kept are the lowest guids; the moved ones go to the lightest node first', (t) => {
  const plan = planRebalance([node('a', 4), node('b', 1), node('c', 0)]);
  t.deepEqual(plan.moves.map((m) => [m.vdisk, m.to]), [['a-v02', 'c'], ['a-v03', 'b']]);
});

test('exported balances are the original format and execute the plan', (t) => {
  const nodes = [node('a', 4), node('b', 0), node('c', 1, { excluded: true })];
  const plan = planRebalance(nodes);
  const balances = exportBalances(nodes, plan);
  t.deepEqual(balances, [
    { storagedriver_guid: 'a', hosted_guids: ['a-v00', 'a-v01', 'a-v02', 'a-v03'], limit: 2, balance: ['a-v00', 'a-v01'], overflow: ['a-v02', 'a-v03'], added: [] },
    { storagedriver_guid: 'b', hosted_guids: [], limit: 2, balance: [], overflow: [], added: ['a-v02', 'a-v03'] },
    { storagedriver_guid: 'c', hosted_guids: ['c-v00'], limit: -1, balance: ['c-v00'], overflow: [], added: [] },
  ]);
  t.deepEqual(movesOfBalances(balances, () => true), { moves: [{ vdisk: 'a-v02', to: 'b' }, { vdisk: 'a-v03', to: 'b' }], problems: [] });
  t.deepEqual(movesOfBalances(balances, (b) => b.storagedriver_guid !== 'a').moves, [], 'only the selected balances give vDisks away');
});

const rec = (sd: string, overflow: string[], added: string[]): BalanceRecord => ({ storagedriver_guid: sd, hosted_guids: overflow, limit: 0, balance: [], overflow, added });

test('balances that cannot be executed are refused whole, every problem named', (t) => {
  const r = movesOfBalances([rec('a', ['v1', 'v2'], []), rec('b', [], ['v1']), rec('c', [], ['v1']), rec('a', [], [])], () => true);
  t.deepEqual(r.moves, []);
  t.deepEqual(r.problems, [
    'vDisk v1 is added to both b and c',
    'StorageDriver a has more than one balance',
    'vDisk v2 overflows a but no balance adds it',
  ]);
});

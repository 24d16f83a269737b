import test from 'ava';
import { chooseDtlTarget, dtlCandidates, type DtlCandidateNode, type DtlPlacementInput } from '../../src/policies/dtl-placement.js';

const node = (storagerouter: string, domains: string[] = [], dtlLoad = 0, usable = true): DtlCandidateNode => ({ storagerouter, domains, dtlLoad, usable });
const base = (nodes: DtlCandidateNode[], more: Partial<DtlPlacementInput> = {}): DtlPlacementInput => ({ owner: 'own', ownerDomains: [], ownerRecoveryDomains: [], nodes: [node('own', ['d1']), ...nodes], ...more });

const cases: Array<{ title: string; input: DtlPlacementInput; lists: string[][]; target: string | null }> = [
  { title: 'no domains: any other node, least loaded first', input: base([node('b', [], 3), node('c', [], 1)]), lists: [[], [], ['c', 'b']], target: 'c' },
  { title: 'the owner alone: standalone', input: base([]), lists: [[], [], []], target: null },
  {
    title: 'recovery domain before regular domain before the rest',
    input: base([node('r', ['rec']), node('g', ['d1']), node('x', ['zz'])], { ownerDomains: ['d1'], ownerRecoveryDomains: ['rec'] }),
    lists: [['r'], ['g'], ['x']], target: 'r',
  },
  {
    title: 'no node in the recovery domain: the regular domain wins',
    input: base([node('g', ['d1'], 5), node('x', [], 0)], { ownerDomains: ['d1'], ownerRecoveryDomains: ['rec'] }),
    lists: [[], ['g'], ['x']], target: 'g',
  },
  {
    title: 'a node in both domains counts once, as primary',
    input: base([node('both', ['rec', 'd1'])], { ownerDomains: ['d1'], ownerRecoveryDomains: ['rec'] }),
    lists: [['both'], [], []], target: 'both',
  },
  { title: 'excluded StorageRouters are never chosen', input: base([node('b'), node('c')], { exclude: ['b'] }), lists: [[], [], ['c']], target: 'c' },
  { title: 'a node whose DTL server does not answer is skipped', input: base([node('b', [], 0, false), node('c', [], 9)]), lists: [[], [], ['c']], target: 'c' },
  { title: 'never overloading: a node at capacity takes no more', input: base([node('b', [], 4), node('c', [], 2)], { maxDtlsPerNode: 3 }), lists: [[], [], ['c']], target: 'c' },
  { title: 'every node at capacity: standalone rather than overloaded', input: base([node('b', [], 3)], { maxDtlsPerNode: 3 }), lists: [[], [], []], target: null },
  {
    title: 'manual target domains restrict every list',
    input: base([node('r', ['rec']), node('m', ['manual']), node('x', [])], { ownerRecoveryDomains: ['rec'], restrictTo: ['manual'] }),
    lists: [[], [], ['m']], target: 'm',
  },
  { title: 'an empty restriction means none', input: base([node('b')], { restrictTo: [] }), lists: [[], [], ['b']], target: 'b' },
  {
    title: 'the owner is never its own DTL, even in its recovery domain',
    input: { owner: 'own', ownerDomains: ['d1'], ownerRecoveryDomains: ['d1'], nodes: [node('own', ['d1'])] },
    lists: [[], [], []], target: null,
  },
  { title: 'ties broken by guid', input: base([node('z'), node('a')]), lists: [[], [], ['a', 'z']], target: 'a' },
];

for (const c of cases) {
  test(`dtl placement: ${c.title}`, (t) => {
    t.deepEqual(dtlCandidates(c.input), c.lists);
    t.is(chooseDtlTarget(c.input), c.target);
  });
}

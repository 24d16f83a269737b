import test from 'ava';
import { MdsSafetyError, type MdsSafetyReason } from '../../src/errors/tasks.js';
import { type MdsServiceView, planSafety, promotionCandidates, type SafetyInput, type SafetyPlan, type SafetyStoragerouter } from '../../src/policies/mds-safety.js';

// Nodes are named a, b, c, ... with IP 10.0.0.<n>; a service is "<node>:<port>".
const NODES = 'abcdefgh';
const ipOf = (node: string): string => `10.0.0.${NODES.indexOf(node) + 1}`;

interface Node {
  domains?: string[];
  recovery?: string[];
  reachable?: boolean;
  hostsVpool?: boolean;
}

interface Scenario {
  nodes: Record<string, Node>;
  /** "<node>:<port>" → [capacity, junctions]; default [10, 0]. */
  services: Record<string, [number, number] | null>;
  current: string[];
  vdisk?: string;
  safety: number;
  maxLoad?: number;
  excluded?: string[];
  tlogsBehind?: Record<string, number | 'no_namespace'>;
}

function input(s: Scenario): SafetyInput {
  const storagerouters: SafetyStoragerouter[] = Object.entries(s.nodes).map(([guid, n]) => ({
    guid, ip: ipOf(guid), regularDomains: n.domains ?? [], recoveryDomains: n.recovery ?? [], hostsVpool: n.hostsVpool ?? true, reachable: n.reachable ?? true,
  }));
  const services: MdsServiceView[] = Object.entries(s.services).map(([id, cj]) => {
    const [node = '', port = ''] = id.split(':');
    const [capacity, junctions] = cj ?? [10, 0];
    return { id, storagerouter: node, ip: ipOf(node), port: Number(port), capacity, junctions };
  });
  const current = s.current.map((id) => {
    const [node = '', port = ''] = id.split(':');
    return { ip: ipOf(node), port: Number(port) };
  });
  return {
    vdiskStoragerouter: s.vdisk ?? 'a', excluded: s.excluded ?? [], storagerouters, services, current,
    safety: s.safety, maxLoad: s.maxLoad ?? 75, tlogsThreshold: 100, tlogsBehind: s.tlogsBehind ?? {},
  };
}

const ids = (list: readonly MdsServiceView[]): string[] => list.map((s) => s.id);

/** The vPool after applying a plan: the new config, junctions moved from dropped to added services. */
function applied(i: SafetyInput, plan: SafetyPlan): SafetyInput {
  const before = new Set(i.current.map((c) => `${c.ip}:${c.port}`));
  const after = new Set(plan.list.map((s) => `${s.ip}:${s.port}`));
  const services = i.services.map((s) => {
    const key = `${s.ip}:${s.port}`;
    const delta = (after.has(key) ? 1 : 0) - (before.has(key) ? 1 : 0);
    return { ...s, junctions: s.junctions + delta };
  });
  return { ...i, services, current: plan.list.map((s) => ({ ip: s.ip, port: s.port })), tlogsBehind: {} };
}

const flat = (...nodes: string[]): Record<string, Node> => Object.fromEntries(nodes.map((n) => [n, {}]));
const svc = (...list: string[]): Record<string, null> => Object.fromEntries(list.map((id) => [id, null]));
// a, b in domain d1 with recovery domain d2; c, d in d2 with recovery d1.
const twoDomains: Record<string, Node> = {
  a: { domains: ['d1'], recovery: ['d2'] }, b: { domains: ['d1'], recovery: ['d2'] },
  c: { domains: ['d2'], recovery: ['d1'] }, d: { domains: ['d2'], recovery: ['d1'] },
};

interface Row {
  title: string;
  scenario: Scenario;
  /** The new list, or 'unchanged'. */
  list: string[] | 'unchanged';
  dropped?: string[];
  previousMaster?: string | null;
  catchUp?: string | null;
}

const rows: Row[] = [
  { title: 'safety 1 without domains: the local master is enough', scenario: { nodes: flat('a', 'b', 'c'), services: svc('a:1', 'b:1', 'c:1'), current: ['a:1'], safety: 1 }, list: 'unchanged' },
  { title: 'safety 2 without domains: one slave, ties by IP', scenario: { nodes: flat('a', 'b', 'c'), services: svc('a:1', 'b:1', 'c:1'), current: ['a:1'], safety: 2 }, list: ['a:1', 'b:1'] },
  {
    title: 'safety 3 without domains: slaves by ascending load',
    scenario: { nodes: flat('a', 'b', 'c', 'd'), services: { 'a:1': null, 'b:1': [10, 5], 'c:1': [10, 1], 'd:1': [10, 3] }, current: ['a:1'], safety: 3 },
    list: ['a:1', 'c:1', 'd:1'],
  },
  { title: 'safety 4 on three nodes: three copies', scenario: { nodes: flat('a', 'b', 'c'), services: svc('a:1', 'b:1', 'c:1'), current: ['a:1'], safety: 4 }, list: ['a:1', 'b:1', 'c:1'] },
  { title: 'safety 1 with a recovery domain: the master only', scenario: { nodes: twoDomains, services: svc('a:1', 'b:1', 'c:1', 'd:1'), current: ['a:1'], safety: 1 }, list: 'unchanged' },
  { title: 'safety 2 with a recovery domain: 1 primary + 1 secondary', scenario: { nodes: twoDomains, services: svc('a:1', 'b:1', 'c:1', 'd:1'), current: ['a:1'], safety: 2 }, list: ['a:1', 'c:1'] },
  { title: 'safety 3 with a recovery domain: 2 primary + 1 secondary', scenario: { nodes: twoDomains, services: svc('a:1', 'b:1', 'c:1', 'd:1'), current: ['a:1'], safety: 3 }, list: ['a:1', 'b:1', 'c:1'] },
  { title: 'safety 4 with a recovery domain: 2 primary + 2 secondary', scenario: { nodes: twoDomains, services: svc('a:1', 'b:1', 'c:1', 'd:1'), current: ['a:1'], safety: 4 }, list: ['a:1', 'b:1', 'c:1', 'd:1'] },
  {
    title: 'recovery domain without nodes: all copies in the primary domain',
    scenario: { nodes: { a: { domains: ['d1'], recovery: ['d9'] }, b: { domains: ['d1'] }, c: { domains: ['d1'] }, x: { domains: ['d2'] } }, services: svc('a:1', 'b:1', 'c:1', 'x:1'), current: ['a:1'], safety: 3 },
    list: ['a:1', 'b:1', 'c:1'],
  },
  {
    title: 'secondary domain cannot provide (overloaded): primary fills up',
    scenario: { nodes: { ...twoDomains, e: { domains: ['d1'] } }, services: { 'a:1': null, 'b:1': null, 'c:1': [10, 8], 'd:1': [10, 9], 'e:1': null }, current: ['a:1'], safety: 3 },
    list: ['a:1', 'b:1', 'e:1'],
  },
  {
    title: 'nodes outside both domain pools are never used',
    scenario: { nodes: { a: { domains: ['d1'] }, b: { domains: ['d1'] }, x: { domains: ['d2'] } }, services: svc('a:1', 'b:1', 'x:1'), current: ['a:1', 'x:1'], safety: 3 },
    list: ['a:1', 'b:1'], dropped: ['x:1'],
  },
  {
    title: 'two services on one node: never two copies on one host',
    scenario: { nodes: flat('a', 'b'), services: { 'a:1': null, 'b:1': [10, 4], 'b:2': [10, 0] }, current: ['a:1'], safety: 3 },
    list: ['a:1', 'b:2'],
  },
  {
    title: 'two copies on one node in the config: one is dropped',
    scenario: { nodes: flat('a', 'b', 'c'), services: svc('a:1', 'b:1', 'b:2', 'c:1'), current: ['a:1', 'b:1', 'b:2'], safety: 3 },
    list: ['a:1', 'b:1', 'c:1'], dropped: ['b:2'],
  },
  {
    title: 'overloaded services are never chosen: fewer copies rather than overload one',
    scenario: { nodes: flat('a', 'b', 'c'), services: { 'a:1': null, 'b:1': [10, 2], 'c:1': [10, 7] }, current: ['a:1'], safety: 3 },
    list: ['a:1', 'b:1'],
  },
  {
    title: 'capacity 0 is infinitely loaded: never chosen, its slave copy moves away',
    scenario: { nodes: flat('a', 'b', 'c'), services: { 'a:1': null, 'b:1': [0, 3], 'c:1': null }, current: ['a:1', 'b:1'], safety: 2 },
    list: ['a:1', 'c:1'], dropped: ['b:1'],
  },
  {
    title: 'overloaded slave replaced by a node with room',
    scenario: { nodes: flat('a', 'b', 'c'), services: { 'a:1': null, 'b:1': [10, 9], 'c:1': [10, 3] }, current: ['a:1', 'b:1'], safety: 2 },
    list: ['a:1', 'c:1'], dropped: ['b:1'],
  },
  {
    title: 'unlimited capacity (-1) counts 50 %: usable',
    scenario: { nodes: flat('a', 'b'), services: { 'a:1': null, 'b:1': [-1, 500] }, current: ['a:1'], safety: 2 },
    list: ['a:1', 'b:1'],
  },
  {
    title: 'non-local master, local slave caught up (< mds_tlogs): slave promoted, old master stays as slave',
    scenario: { nodes: flat('a', 'b', 'c'), services: svc('a:1', 'b:1', 'c:1'), current: ['b:1', 'a:1'], safety: 2, tlogsBehind: { 'a:1': 99 } },
    list: ['a:1', 'b:1'], previousMaster: 'b:1', catchUp: 'a:1', dropped: [],
  },
  {
    title: 'non-local master, local slave too far behind (>= mds_tlogs): [old master, candidate] kept',
    scenario: { nodes: flat('a', 'b', 'c'), services: svc('a:1', 'b:1', 'c:1'), current: ['b:1', 'a:1'], safety: 2, tlogsBehind: { 'a:1': 100 } },
    list: 'unchanged',
  },
  {
    title: 'non-local master, local slave without namespace: not promoted yet',
    scenario: { nodes: flat('a', 'b', 'c'), services: svc('a:1', 'b:1', 'c:1'), current: ['b:1', 'a:1', 'c:1'], safety: 2, tlogsBehind: { 'a:1': 'no_namespace' } },
    list: ['b:1', 'a:1'], dropped: ['c:1'],
  },
  {
    title: 'non-local master, no local slave: local candidate added next to it',
    scenario: { nodes: flat('a', 'b', 'c'), services: svc('a:1', 'b:1', 'c:1'), current: ['b:1', 'c:1'], safety: 3 },
    list: ['b:1', 'a:1', 'c:1'],
  },
  {
    title: 'overloaded local master: local replacement next to it, counting as one node',
    scenario: { nodes: flat('a', 'b', 'c'), services: { 'a:1': [10, 8], 'a:2': null, 'b:1': null, 'c:1': null }, current: ['a:1', 'b:1'], safety: 2 },
    list: ['a:1', 'a:2', 'b:1'],
  },
  {
    title: 'overloaded local master promoted away once its replacement caught up; the old master is dropped',
    scenario: { nodes: flat('a', 'b', 'c'), services: { 'a:1': [10, 8], 'a:2': [10, 1], 'b:1': null }, current: ['a:1', 'a:2', 'b:1'], safety: 2, tlogsBehind: { 'a:2': 3 } },
    list: ['a:2', 'b:1'], previousMaster: null, catchUp: 'a:2', dropped: ['a:1'],
  },
  {
    title: 'overloaded local master without local alternative: kept (a master beats none)',
    scenario: { nodes: flat('a', 'b'), services: { 'a:1': [10, 9], 'b:1': null }, current: ['a:1', 'b:1'], safety: 2 },
    list: 'unchanged',
  },
  {
    title: 'recycled slave displaced by a lower-loaded candidate: the least-loaded local candidate wins, preferring an existing slave',
    scenario: { nodes: flat('a', 'b', 'c'), services: { 'a:1': [10, 5], 'a:2': [10, 0], 'b:1': null, 'c:1': null }, current: ['b:1', 'a:1'], safety: 2, tlogsBehind: { 'a:1': 0 } },
    list: ['b:1', 'a:2'], dropped: ['a:1'],
  },
  {
    title: 'a local slave does not win over a less loaded fresh local service',
    scenario: { nodes: flat('a', 'b'), services: { 'a:1': [10, 0], 'a:2': [10, 5], 'b:1': null }, current: ['b:1', 'a:2'], safety: 2, tlogsBehind: { 'a:2': 0 } },
    list: ['b:1', 'a:1'], dropped: ['a:2'],
  },
  {
    title: 'equal load between a local slave and a fresh local service: the existing slave is promoted',
    scenario: { nodes: flat('a', 'b'), services: { 'a:1': [10, 1], 'a:2': [10, 2], 'b:1': null }, current: ['b:1', 'a:2'], safety: 2, tlogsBehind: { 'a:2': 0 } },
    list: ['a:2', 'b:1'], previousMaster: 'b:1', catchUp: 'a:2',
  },
  { title: 'excess safety trimmed', scenario: { nodes: flat('a', 'b', 'c'), services: svc('a:1', 'b:1', 'c:1'), current: ['a:1', 'b:1', 'c:1'], safety: 2 }, list: ['a:1', 'b:1'], dropped: ['c:1'] },
  { title: 'wrong slave order fixed: primary slaves before secondary ones', scenario: { nodes: twoDomains, services: svc('a:1', 'b:1', 'c:1', 'd:1'), current: ['a:1', 'c:1', 'b:1'], safety: 3 }, list: ['a:1', 'b:1', 'c:1'], dropped: [] },
  { title: 'too many in the secondary domain: one moves to the primary', scenario: { nodes: twoDomains, services: svc('a:1', 'b:1', 'c:1', 'd:1'), current: ['a:1', 'c:1', 'd:1'], safety: 3 }, list: ['a:1', 'b:1', 'c:1'], dropped: ['d:1'] },
  { title: 'excluded nodes are never used', scenario: { nodes: flat('a', 'b', 'c'), services: svc('a:1', 'b:1', 'c:1'), current: ['a:1'], safety: 3, excluded: ['b'] }, list: ['a:1', 'c:1'] },
  {
    title: 'a slave on an excluded node is moved away',
    scenario: { nodes: flat('a', 'b', 'c', 'd'), services: svc('a:1', 'b:1', 'c:1', 'd:1'), current: ['a:1', 'b:1', 'c:1'], safety: 3, excluded: ['b'] },
    list: ['a:1', 'c:1', 'd:1'], dropped: ['b:1'],
  },
  { title: 'unreachable nodes are skipped', scenario: { nodes: { ...flat('a', 'c'), b: { reachable: false } }, services: svc('a:1', 'b:1', 'c:1'), current: ['a:1'], safety: 3 }, list: ['a:1', 'c:1'] },
  {
    title: 'a slave on a node that went unreachable is replaced, or dropped when nothing is left',
    scenario: { nodes: { ...flat('a', 'b'), c: { reachable: false } }, services: svc('a:1', 'b:1', 'c:1'), current: ['a:1', 'b:1', 'c:1'], safety: 3 },
    list: ['a:1', 'b:1'], dropped: ['c:1'],
  },
  {
    title: 'an entry no service matches is replaced',
    scenario: { nodes: flat('a', 'b', 'c'), services: svc('a:1', 'b:1', 'c:1'), current: ['a:1', 'b:7'], safety: 2 },
    list: ['a:1', 'b:1'], dropped: [],
  },
  {
    title: 'an unknown master: a local service becomes master',
    scenario: { nodes: flat('a', 'b'), services: svc('a:1', 'b:1'), current: ['a:9', 'b:1'], safety: 2 },
    list: ['a:1', 'b:1'],
  },
  {
    title: 'IPs sort numerically per octet on ties',
    scenario: { nodes: Object.fromEntries([...'abcdefgh'].map((n) => [n, {}])), services: { 'a:1': null, 'h:1': null, 'b:1': [10, 1], 'c:1': [10, 1], 'd:1': [10, 1], 'e:1': [10, 1], 'f:1': [10, 1], 'g:1': [10, 1] }, current: ['a:1'], vdisk: 'a', safety: 2 },
    list: ['a:1', 'h:1'],
  },
];

for (const row of rows) {
  test(`mds safety: ${row.title}`, (t) => {
    const i = input(row.scenario);
    const plan = planSafety(i);
    if (row.list === 'unchanged') {
      t.false(plan.change, `unexpected change to ${ids(plan.list).join(', ')}`);
      return;
    }
    t.true(plan.change);
    t.deepEqual(ids(plan.list), row.list);
    if (!plan.change) return;
    t.true(plan.reasons.length > 0);
    if (row.dropped) t.deepEqual(ids(plan.dropped), row.dropped);
    if (row.previousMaster !== undefined) t.is(plan.previousMaster?.id ?? null, row.previousMaster);
    if (row.catchUp !== undefined) t.is(plan.catchUpBeforeApply?.id ?? null, row.catchUp);
    const nodes = plan.list.slice(plan.list[1]?.storagerouter === plan.list[0]?.storagerouter ? 1 : 0).map((s) => s.storagerouter);
    t.is(new Set(nodes).size, nodes.length, 'two copies on one host');
    const again = planSafety(applied(i, plan));
    t.false(again.change, `second run changed it to ${ids(again.list).join(', ')}`);
  });
}

test('mds safety: promotion candidates are the local slave that would be promoted, only when the master must go', (t) => {
  const base: Scenario = { nodes: flat('a', 'b', 'c'), services: { 'a:1': [10, 1], 'a:2': [10, 2], 'b:1': null }, current: ['b:1', 'a:2'], safety: 2 };
  t.deepEqual(ids(promotionCandidates(input(base))), ['a:2']);
  t.deepEqual(ids(promotionCandidates(input({ ...base, services: { 'a:1': [10, 0], 'a:2': [10, 2], 'b:1': null } }))), []);
  t.deepEqual(ids(promotionCandidates(input({ ...base, current: ['a:2', 'b:1'] }))), []);
});

const throws = (t: import('ava').ExecutionContext, s: Scenario, reason: MdsSafetyReason, message: RegExp): void => {
  const err = t.throws(() => planSafety(input(s)), { instanceOf: MdsSafetyError, message });
  t.is(err?.details.reason, reason);
  t.is(err?.type, 'MDS_SAFETY');
  t.false(err?.retryable);
  if (reason !== 'no_master') t.throws(() => promotionCandidates(input(s)), { instanceOf: MdsSafetyError });
};

test('mds safety: the vDisk host excluded throws, naming the host IP', (t) => {
  throws(t, { nodes: flat('a', 'b'), services: svc('a:1', 'b:1'), current: ['a:1'], safety: 2, excluded: ['a'] }, 'excluded', /10\.0\.0\.1.*cannot be made safe/);
});

test('mds safety: the vDisk host not serving the vPool is not in the primary pool', (t) => {
  throws(t, { nodes: { a: { hostsVpool: false }, b: {} }, services: svc('b:1'), current: ['b:1'], safety: 2 }, 'not_in_primary', /10\.0\.0\.1.*primary/);
});

test('mds safety: a vDisk host that is not a member throws', (t) => {
  throws(t, { nodes: flat('b'), services: svc('b:1'), current: ['b:1'], safety: 2, vdisk: 'zz' }, 'not_member', /zz.*not a member/);
});

test('mds safety: no metadata backend config throws', (t) => {
  throws(t, { nodes: flat('a'), services: svc('a:1'), current: [], safety: 1 }, 'no_config', /no MDS configuration/);
});

test('mds safety: no master and no local service throws', (t) => {
  throws(t, { nodes: flat('a', 'b'), services: svc('b:1'), current: ['a:1'], safety: 2 }, 'no_master', /no MDS service/);
});

test('mds safety: worked example — 4 nodes in 2 domains, loads 20 % → 60 %, then one capacity lowered to 2', (t) => {
  const services = new Map(['a:1', 'b:1', 'c:1', 'd:1'].map((id) => [id, { capacity: 10, junctions: 0 }]));
  const vdisks = [...'aabbccdd'].map((node) => ({ node, current: [`${node}:1`] }));
  for (const v of vdisks) (services.get(v.current[0] ?? '') ?? { junctions: 0 }).junctions++;
  const load = (id: string): number => {
    const s = services.get(id) ?? { capacity: 1, junctions: 0 };
    return (s.junctions / s.capacity) * 100;
  };
  const pass = (): number => {
    let changes = 0;
    for (const v of vdisks) {
      const i = input({ nodes: twoDomains, services: Object.fromEntries([...services].map(([id, s]) => [id, [s.capacity, s.junctions]])), current: v.current, vdisk: v.node, safety: 3 });
      const plan = planSafety(i);
      if (!plan.change) continue;
      changes++;
      for (const id of v.current) (services.get(id) ?? { junctions: 0 }).junctions--;
      v.current = ids(plan.list);
      for (const id of v.current) (services.get(id) ?? { junctions: 0 }).junctions++;
    }
    return changes;
  };
  t.deepEqual(['a:1', 'b:1', 'c:1', 'd:1'].map(load), [20, 20, 20, 20]);
  t.is(pass(), 8);
  t.deepEqual(vdisks[0]?.current, ['a:1', 'b:1', 'c:1'], 'local master, the other node of its domain, a node of the other domain');
  t.deepEqual(['a:1', 'b:1', 'c:1', 'd:1'].map(load), [60, 60, 60, 60]);
  t.is(pass(), 0, 'a second run changes nothing');

  (services.get('d:1') ?? { capacity: 0 }).capacity = 2;
  pass();
  t.is(load('d:1'), 100, 'd keeps only the masters of its own vDisks');
  for (const id of ['a:1', 'b:1', 'c:1']) t.true(load(id) <= 75, `${id} at ${load(id)} %`);
  for (const v of vdisks.filter((x) => x.node !== 'd')) t.false(v.current.slice(1).includes('d:1'), `${v.node}: ${v.current.join(',')}`);
  t.true(vdisks.some((v) => v.current.length < 3), 'a vDisk keeps fewer copies rather than overload a service');
  t.is(pass(), 0, 'and then it is stable');
});

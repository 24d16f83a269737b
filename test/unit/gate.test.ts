import test from 'ava';
import { TaskGate, dedupeKey } from '../../src/ensure-single/gate.js';

type Step = [op: 'offer', id: string, key: string, expect: string] | [op: 'finish', id: string, expect: string];

/** Runs a script of offers/finishes and checks every decision (`start`, `wait`, `discarded:<id>`, `coalesced:<id>`, or the ids started by a finish). */
function run(t: import('ava').ExecutionContext, gate: TaskGate, steps: Step[]): void {
  for (const step of steps) {
    if (step[0] === 'offer') {
      const d = gate.offer(step[1], step[2]);
      const got = d.kind === 'discarded' ? `discarded:${d.runningId}` : d.kind === 'coalesced' ? `coalesced:${d.coveredBy}` : d.kind;
      t.is(got, step[3], `offer ${step[1]}`);
    } else {
      t.is(gate.finish(step[1]).join(','), step[2], `finish ${step[1]}`);
    }
  }
}

const cases: Array<{ title: string; mode: 'DEFAULT' | 'DEDUPED' | 'CHAINED'; steps: Step[] }> = [
  {
    title: 'DEFAULT drops whatever arrives while one runs, whatever its arguments',
    mode: 'DEFAULT',
    steps: [['offer', 'a', 'k1', 'start'], ['offer', 'b', 'k1', 'discarded:a'], ['offer', 'c', 'k2', 'discarded:a'], ['finish', 'a', ''], ['offer', 'd', 'k1', 'start']],
  },
  {
    title: 'DEDUPED keeps one running and one waiting per key; a third identical is coalesced onto the waiting one',
    mode: 'DEDUPED',
    steps: [
      ['offer', 'a', 'k1', 'start'], ['offer', 'b', 'k1', 'wait'], ['offer', 'c', 'k1', 'coalesced:b'], ['offer', 'd', 'k1', 'coalesced:b'],
      ['finish', 'a', 'b'], ['offer', 'e', 'k1', 'wait'], ['finish', 'b', 'e'], ['finish', 'e', ''],
    ],
  },
  {
    title: 'DEDUPED runs different keys in parallel',
    mode: 'DEDUPED',
    steps: [['offer', 'a', 'k1', 'start'], ['offer', 'b', 'k2', 'start'], ['offer', 'c', 'k1', 'wait'], ['finish', 'b', ''], ['finish', 'a', 'c']],
  },
  {
    title: 'CHAINED is one FIFO across keys',
    mode: 'CHAINED',
    steps: [
      ['offer', 'a', 'k1', 'start'], ['offer', 'b', 'k2', 'wait'], ['offer', 'c', 'k1', 'wait'], ['offer', 'd', 'k1', 'coalesced:c'],
      ['finish', 'a', 'b'], ['finish', 'b', 'c'], ['finish', 'c', ''],
    ],
  },
  {
    title: 'CHAINED allows two identical waiting behind another key (the original counted registrations, not runs)',
    mode: 'CHAINED',
    steps: [['offer', 'a', 'k2', 'start'], ['offer', 'b', 'k1', 'wait'], ['offer', 'c', 'k1', 'wait'], ['offer', 'd', 'k1', 'coalesced:c'], ['finish', 'a', 'b']],
  },
];

for (const c of cases) {
  test(c.title, (t) => run(t, new TaskGate(c.mode), c.steps));
}

test('a waiting registration can be cancelled (start timeout); a running one cannot', (t) => {
  const gate = new TaskGate('CHAINED');
  gate.offer('a', 'k');
  gate.offer('b', 'x');
  t.false(gate.cancel('a'));
  t.true(gate.cancel('b'));
  t.deepEqual(gate.finish('a'), []);
  t.is(gate.size, 0);
});

test('dedupe key ignores argument order, ignored arguments and nulls (fixes f() vs f(x=None) keying differently)', (t) => {
  t.is(dedupeKey({ a: 1, b: 2 }), dedupeKey({ b: 2, a: 1 }));
  t.is(dedupeKey({ vpool_guid: 'v', vdisk_guid: 'd1' }, ['vdisk_guid']), dedupeKey({ vpool_guid: 'v', vdisk_guid: 'd2' }, ['vdisk_guid']));
  t.is(dedupeKey({}), dedupeKey({ x: null }));
  t.not(dedupeKey({ x: 1 }), dedupeKey({ x: 2 }));
});

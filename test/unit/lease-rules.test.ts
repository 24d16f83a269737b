import test from 'ava';
import { STEP_DOWN_SHARE, contenderMove, holderMustStepDown, type ContenderMove, type KeyState, type Sighting } from '../../src/cluster/lease-rules.js';

const TTL = 1_000;
const me = 'agent-b';
const heldByA = (revision: number): KeyState => ({ holder: 'agent-a', revision });

interface Row {
  what: string;
  key: KeyState | undefined;
  seen: Sighting | undefined;
  now: number;
  expected: ContenderMove;
}

const rows: Row[] = [
  { what: 'a free key is created', key: undefined, seen: undefined, now: 0, expected: { move: 'create' } },
  { what: 'a free key is created even after watching a holder', key: undefined, seen: { revision: 7, since: 0 }, now: 10, expected: { move: 'create' } },
  { what: 'its own record (from before a restart) is taken back at once', key: { holder: me, revision: 4 }, seen: undefined, now: 0, expected: { move: 'take', revision: 4, because: 'own' } },
  { what: 'a first sight of a holder starts the wait', key: heldByA(3), seen: undefined, now: 500, expected: { move: 'wait', sighting: { revision: 3, since: 500 } } },
  { what: 'an unchanged revision short of a ttl keeps waiting', key: heldByA(3), seen: { revision: 3, since: 500 }, now: 500 + TTL - 1, expected: { move: 'wait', sighting: { revision: 3, since: 500 } } },
  { what: 'an unchanged revision for a whole ttl is taken', key: heldByA(3), seen: { revision: 3, since: 500 }, now: 500 + TTL, expected: { move: 'take', revision: 3, because: 'expired' } },
  { what: 'a renewal (new revision) restarts the wait, however long the old one stood', key: heldByA(4), seen: { revision: 3, since: 0 }, now: 10 * TTL, expected: { move: 'wait', sighting: { revision: 4, since: 10 * TTL } } },
  { what: 'a new holder after a takeover restarts the wait', key: { holder: 'agent-c', revision: 9 }, seen: { revision: 3, since: 0 }, now: 2 * TTL, expected: { move: 'wait', sighting: { revision: 9, since: 2 * TTL } } },
];

for (const r of rows) {
  test(`contender: ${r.what}`, (t) => {
    t.deepEqual(contenderMove(r.key, me, r.seen, r.now, TTL), r.expected);
  });
}

test('a contender never takes a held key before a whole ttl since its first sight, whatever the clock does in between', (t) => {
  let seen: Sighting | undefined;
  const key = heldByA(1);
  for (const now of [100, 100, 300, 1_099]) {
    const m = contenderMove(key, me, seen, now, TTL);
    t.is(m.move, 'wait', `at ${now}`);
    if (m.move === 'wait') seen = m.sighting;
  }
  t.like(contenderMove(key, me, seen, 1_100, TTL), { move: 'take', because: 'expired' });
});

test('a holder keeps the lease while its last renewal is recent and steps down before a contender may take over', (t) => {
  const renewedAt = 2_000;
  t.false(holderMustStepDown(renewedAt, renewedAt, TTL));
  t.false(holderMustStepDown(renewedAt, renewedAt + TTL * STEP_DOWN_SHARE - 1, TTL));
  t.true(holderMustStepDown(renewedAt, renewedAt + TTL * STEP_DOWN_SHARE, TTL));
  t.true(STEP_DOWN_SHARE < 1, 'the holder stops before a contender that saw the same revision may take it');
  // The contender's first sight of the renewal is no earlier than the renewal was sent.
  const firstSight = renewedAt;
  const stepsDownAt = renewedAt + TTL * STEP_DOWN_SHARE;
  t.is(contenderMove(heldByA(5), me, { revision: 5, since: firstSight }, stepsDownAt, TTL).move, 'wait');
});

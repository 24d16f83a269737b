import test from 'ava';
import { firstUnacknowledged, planKeyPurges, taskResultExpired, type KeyState } from '../../src/policies/engine-upkeep.js';
import { planReplicas, replicaTarget } from '../../src/policies/replica-target.js';

const NOW = 1_000_000;
const key = (k: Partial<KeyState> & { key: string }): KeyState => ({ seq: 10, operation: 'PUT', createdMs: NOW, messages: 1, ...k });

test('key purges: history below the newest message, old markers with everything before them, the rest untouched', (t) => {
  const cases: Array<[string, KeyState, ReturnType<typeof planKeyPurges>]> = [
    ['single value', key({ key: 'a' }), []],
    ['value with history', key({ key: 'b', seq: 7, messages: 3 }), [{ key: 'b', belowSeq: 7, reason: 'history' }]],
    ['old delete marker', key({ key: 'c', seq: 5, operation: 'DEL', createdMs: NOW - 60_000, messages: 2 }), [{ key: 'c', belowSeq: 6, reason: 'delete_marker' }]],
    ['old purge marker', key({ key: 'd', seq: 4, operation: 'PURGE', createdMs: NOW - 60_000 }), [{ key: 'd', belowSeq: 5, reason: 'delete_marker' }]],
    ['young delete marker keeps the marker, drops its history', key({ key: 'e', seq: 9, operation: 'DEL', createdMs: NOW - 59_999, messages: 2 }), [{ key: 'e', belowSeq: 9, reason: 'history' }]],
    ['young lone marker', key({ key: 'f', operation: 'DEL', createdMs: NOW - 1 }), []],
  ];
  for (const [name, state, expected] of cases) t.deepEqual(planKeyPurges([state], NOW, 60_000), expected, name);
});

test('a purge never reaches the newest value of a key', (t) => {
  for (const p of planKeyPurges([key({ key: 'v', seq: 42, messages: 9 })], NOW, 0)) t.true(p.belowSeq <= 42);
});

test('task results: finished ones past their keep time, never running ones', (t) => {
  const cases: Array<[string, Parameters<typeof taskResultExpired>[0], boolean]> = [
    ['finished long ago', { status: 'SUCCESS', finished_at: NOW - 10_000 }, true],
    ['failed exactly at the limit', { status: 'FAILURE', finished_at: NOW - 5_000 }, true],
    ['finished just now', { status: 'SUCCESS', finished_at: NOW - 4_999 }, false],
    ['running for ages', { status: 'RUNNING' }, false],
    ['no finish time', { status: 'SUCCESS' }, false],
  ];
  for (const [name, rec, expected] of cases) t.is(taskResultExpired(rec, NOW, 5_000), expected, name);
});

test('events: purged below the lowest ack floor of the durable consumers; none without a durable consumer', (t) => {
  t.is(firstUnacknowledged([{ name: 'a', durable: true, ackFloorSeq: 10 }, { name: 'b', durable: true, ackFloorSeq: 4 }]), 5);
  t.is(firstUnacknowledged([{ name: 'a', durable: true, ackFloorSeq: 10 }, { name: 'tail', durable: false, ackFloorSeq: 0 }]), 11);
  t.is(firstUnacknowledged([{ name: 'tail', durable: false, ackFloorSeq: 100 }]), undefined);
  t.is(firstUnacknowledged([]), undefined);
  t.is(firstUnacknowledged([{ name: 'new', durable: true, ackFloorSeq: 0 }]), 1);
});

test('replica target: one per JetStream server, at most three', (t) => {
  const cases: Array<[number, number]> = [[0, 1], [1, 1], [2, 2], [3, 3], [5, 3], [Number.NaN, 1]];
  for (const [servers, expected] of cases) t.is(replicaTarget(servers), expected, `${servers} servers`);
});

test('replica plan: missing ones created, fewer grown, more never shrunk', (t) => {
  t.deepEqual(planReplicas([{ name: 'new' }, { name: 'r1', replicas: 1 }, { name: 'r3', replicas: 3 }, { name: 'r5', replicas: 5 }], 3), [
    { name: 'new', action: 'create', to: 3 },
    { name: 'r1', action: 'grow', from: 1, to: 3 },
    { name: 'r3', action: 'keep', replicas: 3 },
    { name: 'r5', action: 'keep', replicas: 5 },
  ]);
  t.deepEqual(planReplicas([{ name: 'r1', replicas: 1 }], 1), [{ name: 'r1', action: 'keep', replicas: 1 }]);
});

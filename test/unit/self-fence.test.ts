import test from 'ava';
import pino from 'pino';
import { SelfFence } from '../../src/cluster/self-fence.js';

const log = pino({ level: 'silent' });

function fence(revalidate: () => Promise<void> = () => Promise.resolve()): { f: SelfFence; at: (ms: number) => void; calls: () => number } {
  let now = 0;
  let calls = 0;
  const f = new SelfFence({ revalidate: () => (calls++, revalidate()), log, clock: () => now });
  f.setOfflineAfterMs(4_000); // serving window 3 s
  return { f, at: (ms) => (now = ms), calls: () => calls };
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

test('closed until a heartbeat is confirmed and the volumes are checked once', async (t) => {
  const { f, at, calls } = fence();
  t.false(f.isOpen());
  at(100);
  f.confirmed(90);
  t.false(f.isOpen(), 'not before the registry check');
  await settle();
  t.true(f.isOpen());
  t.is(calls(), 1);
});

// [label, confirmations (sent at, confirmed at), time asked, open, registry checks]
const cases: Array<[string, Array<[number, number]>, number, boolean, number]> = [
  ['beats inside the window keep it open without new checks', [[0, 5], [1_000, 1_005], [2_000, 2_005]], 4_900, true, 1],
  ['the window counts from the send time, not the confirmation', [[0, 2_900]], 3_000, false, 1],
  ['a lapse (a stall) needs a new check before I/O resumes', [[0, 5], [9_000, 9_005]], 9_010, true, 2],
  ['a lapse without a new heartbeat stays closed', [[0, 5]], 3_001, false, 1],
];
for (const [label, beats, askAt, open, checks] of cases) {
  test(`table: ${label}`, async (t) => {
    const { f, at, calls } = fence();
    for (const [sent, confirmedAt] of beats) {
      at(confirmedAt);
      f.confirmed(sent);
      await settle();
    }
    at(askAt);
    t.is(f.isOpen(), open);
    t.is(calls(), checks);
  });
}

test('a failed registry check (node still OFFLINE) keeps it closed until a later one succeeds', async (t) => {
  let offline = true;
  const { f, at } = fence(() => (offline ? Promise.reject(new Error('OFFLINE')) : Promise.resolve()));
  at(10);
  f.confirmed(5);
  await settle();
  t.false(f.isOpen());
  offline = false;
  at(1_010);
  f.confirmed(1_005);
  await settle();
  t.true(f.isOpen());
});

test('untilOpen resolves when the lease opens, or false after its timeout', async (t) => {
  const { f, at } = fence();
  const waiting = f.untilOpen(5_000);
  at(10);
  f.confirmed(5);
  t.true(await waiting);
  at(100_000);
  t.false(await f.untilOpen(20));
});

test('heartbeats come often enough for the window: a third of it at most', (t) => {
  const { f } = fence();
  t.is(f.beatEveryMs(2_000), 1_000);
  f.setOfflineAfterMs(60_000);
  t.is(f.beatEveryMs(2_000), 2_000);
});

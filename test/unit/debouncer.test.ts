import test from 'ava';
import { Debouncer, type Timers } from '../../src/cluster/debouncer.js';

/** Timers on a clock the test moves. */
function fakeTimers(): Timers & { advance(ms: number): void } {
  let now = 0;
  let next = 1;
  const due = new Map<number, { at: number; fn: () => void }>();
  return {
    setTimeout: (fn, ms) => {
      due.set(next, { at: now + ms, fn });
      return next++;
    },
    clearTimeout: (h) => void due.delete(h as number),
    advance(ms) {
      now += ms;
      for (const [h, t] of [...due].sort((a, b) => a[1].at - b[1].at)) {
        if (t.at > now) continue;
        due.delete(h);
        t.fn();
      }
    },
  };
}

test('a burst of touches of one key fires once, delay after the last; keys are independent; stop cancels', (t) => {
  const timers = fakeTimers();
  const fired: string[] = [];
  const d = new Debouncer<string>(60_000, (k) => fired.push(k), timers);
  d.touch('sr1');
  timers.advance(30_000);
  d.touch('sr1');
  d.touch('sr2');
  timers.advance(59_999);
  t.deepEqual(fired, []);
  timers.advance(1);
  t.deepEqual(fired.sort(), ['sr1', 'sr2']);
  d.touch('sr1');
  d.stop();
  timers.advance(120_000);
  t.deepEqual(fired.sort(), ['sr1', 'sr2'], 'nothing after stop');
});

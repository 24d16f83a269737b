import test from 'ava';
import nact from 'nact';
import { pino } from 'pino';
import { Supervision } from '../../src/supervisors/supervision.js';
import { RestartWindow } from '../../src/supervisors/restart-window.js';
import { backoffMs } from '../../src/supervisors/backoff.js';
import { waitFor } from '../helpers/eventually.js';

type Msg = { t: 'crash' } | { t: 'count'; reply: (n: number) => void };

function counter(): { initialState: () => number; handle: (s: number, m: Msg) => number } {
  return {
    initialState: () => 0,
    handle: (s, m) => {
      if (m.t === 'crash') throw new Error('boom');
      m.reply(s + 1);
      return s + 1;
    },
  };
}

const policy = { maxRestarts: 3, periodMs: 10_000, backoffInitialMs: 5, backoffMaxMs: 20 };

test('a crashed actor is restarted with fresh state, and the restart is counted', async (t) => {
  const sup = new Supervision(pino({ level: 'silent' }));
  const system = nact.start();
  const ref = sup.spawn(system, 'counter', counter(), policy);
  const ask = (): Promise<number> => new Promise((resolve) => sup.tell(ref, { t: 'count', reply: resolve }));
  t.is(await ask(), 1);
  t.is(await ask(), 2);
  sup.tell(ref, { t: 'crash' });
  t.is(await ask(), 1, 'state reset after the restart; the message sent during backoff was not lost');
  t.is(sup.tree().find((a) => a.path === 'counter')?.restarts, 1);
  t.deepEqual(sup.degraded, []);
  nact.stop(system);
});

test('exceeding the restart intensity stops the actor, degrades the node, and later messages are dead letters', async (t) => {
  const sup = new Supervision(pino({ level: 'silent' }));
  const system = nact.start();
  const ref = sup.spawn(system, 'flaky', counter(), policy);
  const escalated = new Promise<string>((resolve) => sup.once('escalated', (_p: string, reason: string) => resolve(reason)));
  for (let i = 0; i < 4; i++) {
    sup.tell(ref, { t: 'crash' });
    await new Promise((r) => setTimeout(r, 40));
  }
  t.regex(await escalated, /flaky crashed 4 times/);
  t.is(sup.degraded.length, 1);
  await waitFor('the escalated actor to be listed as escalated', () => sup.tree().find((a) => a.path === 'flaky')?.status === 'escalated');
  t.false(sup.tell(ref, { t: 'count', reply: () => undefined }));
  t.is(sup.deadLetters, 1);
  nact.stop(system);
});

test('restart window forgets crashes older than its period', (t) => {
  const w = new RestartWindow(2, 1_000);
  t.true(w.record(0));
  t.true(w.record(100));
  t.false(w.record(200));
  t.true(w.record(1_500), 'the first crashes left the window');
});

test('backoff grows exponentially and is capped', (t) => {
  const mid = () => 0.5;
  t.true(backoffMs(1, 100, 10_000, mid) <= 100);
  t.true(backoffMs(4, 100, 10_000, mid) > backoffMs(2, 100, 10_000, mid));
  t.true(backoffMs(30, 100, 10_000, () => 1) <= 10_000);
});

import test from 'ava';
import { withDeadline } from '../../src/transport/invoke.js';

// Found by the chaos suite: a woken agent ran requests whose deadline had passed; the work's own later failure was an
// unhandled rejection, which stops a Node process.
test.serial('a deadline that passed already: the work failing later is not an unhandled rejection', async (t) => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => void unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  try {
    const work = new Promise((_, reject) => setTimeout(() => reject(new Error('the forward failed too')), 10));
    const e = await t.throwsAsync(withDeadline(Date.now() - 1, 'running', work));
    t.is((e as { type?: string }).type, 'DEADLINE_EXCEEDED');
    await new Promise((r) => setTimeout(r, 50));
    t.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

test('a deadline ahead: the work decides', async (t) => {
  t.is(await withDeadline(Date.now() + 5_000, 'running', Promise.resolve(7)), 7);
  const e = await t.throwsAsync(withDeadline(Date.now() + 30, 'running', new Promise(() => undefined)));
  t.is((e as { type?: string }).type, 'DEADLINE_EXCEEDED');
});

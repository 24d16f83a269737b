import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { LocalDirBackend } from '../../src/dataplane/backend/local-dir.js';
import { fromWire } from '../../src/errors.js';
import { Faults, InjectedFault, faults } from '../../src/testmode/faults.js';
import { PutFaultBackend, faultableBackend } from '../../src/testmode/faulty-backend.js';

test('arming needs test mode, a typed refusal otherwise', (t) => {
  const f = new Faults();
  t.like(t.throws(() => f.arm({ point: 'backend.put', match: '' })), { type: 'TEST_MODE_OFF' });
  f.enabled = true;
  f.arm({ point: 'backend.put', match: '' });
  t.is(f.list().length, 1);
});

const cases: Array<{ title: string; spec: { match: string; times?: number }; hits: string[]; fails: boolean[] }> = [
  { title: 'prefix match, until cleared', spec: { match: 'ns1/' }, hits: ['ns1/a', 'ns2/a', 'ns1/b'], fails: [true, false, true] },
  { title: 'empty match fails every subject', spec: { match: '' }, hits: ['x', 'y'], fails: [true, true] },
  { title: 'times disarms after that many failing hits', spec: { match: 'ns1', times: 2 }, hits: ['ns1/a', 'ns2/a', 'ns1/b', 'ns1/c'], fails: [true, false, true, false] },
];
for (const c of cases) {
  test(`hit: ${c.title}`, (t) => {
    const f = new Faults();
    f.enabled = true;
    f.arm({ point: 'backend.put', ...c.spec });
    t.deepEqual(c.hits.map((s) => f.active('backend.put', s)), c.fails);
    t.false(f.active('scrub.step', 'ns1/a'), 'other points are not affected');
  });
}

test('InjectedFault is the registered INJECTED_FAULT (retryable) and survives the wire with its point and subject', (t) => {
  const e = new InjectedFault('mds.catch_up', '10.0.0.1:26300');
  t.like(e.toWire(), { type: 'INJECTED_FAULT', retryable: true, details: { point: 'mds.catch_up', subject: '10.0.0.1:26300' } });
  const back = fromWire(JSON.parse(JSON.stringify(e.toWire())) as ReturnType<typeof e.toWire>);
  t.true(back instanceof InjectedFault);
  t.is((back as InjectedFault).point, 'mds.catch_up');
  t.is((back as InjectedFault).subject, '10.0.0.1:26300');
});

test('backends are wrapped only in test mode; a wrapped put fails with `<ns>/<name>` and writes nothing', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ovs-faulty-backend-'));
  const inner = new LocalDirBackend(dir);
  t.is(faultableBackend(inner), inner);
  faults.enabled = true;
  try {
    const b = faultableBackend(inner);
    t.true(b instanceof PutFaultBackend);
    await b.createNamespace('ns1');
    faults.arm({ point: 'backend.put', match: 'ns1/', times: 1 });
    const e = await t.throwsAsync(b.put('ns1', 'obj', Buffer.from('x')));
    t.like(e, { type: 'INJECTED_FAULT', details: { point: 'backend.put', subject: 'ns1/obj' } });
    t.false(await b.exists('ns1', 'obj'));
    await b.put('ns1', 'obj', Buffer.from('x'));
    t.deepEqual(await b.get('ns1', 'obj'), Buffer.from('x'));
  } finally {
    faults.clear();
    faults.enabled = false;
    await rm(dir, { recursive: true, force: true });
  }
});

import test from 'ava';
import type { DtlConfig } from '../../src/dataplane/dtl/config.js';
import { decideDtlCheckup, type DtlCheckupDecision, type DtlCheckupInput } from '../../src/policies/dtl-checkup.js';

const at = (host: string, port = 26203): DtlConfig => ({ host, port, mode: 'Asynchronous' });
const base = (more: Partial<DtlCheckupInput> = {}): DtlCheckupInput => ({
  vpoolDtlEnabled: true, vpoolDtlMode: 'Asynchronous', config: null, configMode: 'AUTOMATIC', state: 'OK_STANDALONE', manual: false,
  currentTarget: null, currentTargetPort: null, candidates: [[], [], ['b', 'c']], usable: [[], [], ['b', 'c']], ...more,
});
const valid = { config: at('10.0.0.2'), configMode: 'MANUAL' as const, state: 'OK_SYNC' as const, currentTarget: 'b', currentTargetPort: 26203 };

const cases: Array<{ title: string; input: DtlCheckupInput; expect: Partial<DtlCheckupDecision> & { kind: DtlCheckupDecision['kind'] } }> = [
  { title: 'a new vDisk gets the best usable candidate, in the vPool mode', input: base(), expect: { kind: 'configure', target: 'b', mode: 'Asynchronous' } },
  { title: 'a new vDisk on a sync vPool gets Synchronous', input: base({ vpoolDtlMode: 'Synchronous' }), expect: { kind: 'configure', target: 'b', mode: 'Synchronous' } },
  { title: 'single node: standalone (null config, MANUAL mode)', input: base({ candidates: [[], [], []], usable: [[], [], []] }), expect: { kind: 'configure', target: null } },
  { title: 'single node already standalone in MANUAL mode: left alone', input: base({ configMode: 'MANUAL', candidates: [[], [], []], usable: [[], [], []] }), expect: { kind: 'keep' } },
  { title: 'no flapping: a valid current target is kept even when not the first candidate', input: base({ ...valid, currentTarget: 'c' }), expect: { kind: 'keep' } },
  { title: 'the current mode is kept when the target moves', input: base({ ...valid, config: { ...at('10.0.0.9'), mode: 'Synchronous' }, currentTarget: 'x', usable: [[], [], ['b']] }), expect: { kind: 'configure', target: 'b', mode: 'Synchronous' } },
  { title: 'a target that is no longer usable (down, excluded) is replaced', input: base({ ...valid, usable: [[], [], ['c']] }), expect: { kind: 'configure', target: 'c' } },
  { title: 'a recovery-domain node that appeared takes over from a node of the rest', input: base({ ...valid, usable: [['r'], [], ['b', 'c']] }), expect: { kind: 'configure', target: 'r' } },
  { title: 'a DTL host that is no StorageDriver of the vPool is corrected', input: base({ ...valid, currentTarget: null, currentTargetPort: null }), expect: { kind: 'configure', target: 'b' } },
  { title: 'a port that differs from the target StorageDriver is corrected', input: base({ ...valid, currentTargetPort: 26299 }), expect: { kind: 'configure', target: 'b' } },
  { title: 'AUTOMATIC config mode is converted to MANUAL', input: base({ ...valid, configMode: 'AUTOMATIC' }), expect: { kind: 'configure', target: 'b' } },
  { title: 'no usable target left: standalone', input: base({ ...valid, usable: [[], [], []] }), expect: { kind: 'configure', target: null } },
  { title: 'a valid target of a DEGRADED volume is re-applied', input: base({ ...valid, state: 'DEGRADED' }), expect: { kind: 'reapply' } },
  { title: 'DTL disabled on the vPool, AUTOMATIC without config: standalone in MANUAL mode', input: base({ vpoolDtlEnabled: false, vpoolDtlMode: null }), expect: { kind: 'configure', target: null, mode: null } },
  { title: 'DTL disabled on the vPool, MANUAL without config: nothing', input: base({ vpoolDtlEnabled: false, vpoolDtlMode: null, configMode: 'MANUAL' }), expect: { kind: 'keep' } },
  { title: 'DTL disabled on the vPool but a non-manual vDisk has one: kept and optimised', input: base({ ...valid, vpoolDtlEnabled: false, vpoolDtlMode: null, usable: [[], [], ['c']] }), expect: { kind: 'configure', target: 'c', mode: 'Asynchronous' } },
  { title: 'manually disabled: nothing', input: base({ manual: true, configMode: 'MANUAL' }), expect: { kind: 'keep' } },
  { title: 'manual target still in its domains: kept', input: base({ ...valid, manual: true, candidates: [[], ['b'], ['c']] }), expect: { kind: 'keep' } },
  { title: 'manual target outside its domains: kept, with a warning', input: base({ ...valid, manual: true, candidates: [[], ['c'], []] }), expect: { kind: 'keep', warning: 'manual DTL target 10.0.0.2:26203 is no longer valid' } },
  { title: 'manual target that is no StorageDriver: kept, with a warning (the original crashed)', input: base({ ...valid, manual: true, currentTarget: null }), expect: { kind: 'keep' } },
  { title: 'manual target DEGRADED: re-applied, never moved', input: base({ ...valid, manual: true, state: 'DEGRADED', usable: [[], [], ['c']] }), expect: { kind: 'reapply' } },
];

for (const c of cases) {
  test(`dtl checkup: ${c.title}`, (t) => {
    t.like(decideDtlCheckup(c.input), c.expect);
  });
}

test('dtl checkup: ten checkups among nine equal targets keep the first choice', (t) => {
  const nine = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'];
  const first = decideDtlCheckup(base({ usable: [[], [], nine] }));
  t.like(first, { kind: 'configure', target: 'a' });
  for (let i = 0; i < 10; i++) {
    // The loads change as DTLs land, so the ordering of the list changes; the choice must not.
    const shuffled = [...nine].sort(() => (i % 2 === 0 ? 1 : -1));
    t.like(decideDtlCheckup(base({ ...valid, config: at('10.0.0.1'), currentTarget: 'a', usable: [[], [], shuffled] })), { kind: 'keep' });
  }
});

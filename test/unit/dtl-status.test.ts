import test from 'ava';
import { dtlStatus, type DtlStatus, type DtlStatusInput } from '../../src/policies/dtl-status.js';
import { manualFlag, toDriverMode, toFrameworkMode, vpoolDtlSettings } from '../../src/policies/dtl-mode.js';

const base = (more: Partial<DtlStatusInput> = {}): DtlStatusInput => ({
  state: 'OK_SYNC', manual: false, vpoolDtlEnabled: true, targetDomains: 0, ownerKnown: true,
  config: { host: '10.0.0.2', port: 1, mode: 'Asynchronous' }, candidateHosts: [[], [], ['10.0.0.2', '10.0.0.3']], ...more,
});

const cases: Array<{ title: string; input: DtlStatusInput; status: DtlStatus }> = [
  { title: 'volume not running: unknown', input: base({ state: null }), status: 'unknown' },
  { title: 'in sync on a candidate', input: base(), status: 'ok_sync' },
  { title: 'CATCHUP is spelled catch_up', input: base({ state: 'CATCHUP' }), status: 'catch_up' },
  { title: 'DEGRADED as is', input: base({ state: 'DEGRADED' }), status: 'degraded' },
  { title: 'single node standalone', input: base({ state: 'OK_STANDALONE', config: null, candidateHosts: [[], [], []] }), status: 'ok_standalone' },
  { title: 'DTL disabled on the vPool, not manual', input: base({ state: 'OK_STANDALONE', config: null, vpoolDtlEnabled: false }), status: 'disabled' },
  { title: 'manually disabled (no_sync on an enabled vPool)', input: base({ state: 'OK_STANDALONE', config: null, manual: true }), status: 'disabled' },
  { title: 'owner unknown', input: base({ ownerKnown: false }), status: 'checkup_required' },
  { title: 'config unreadable', input: base({ config: undefined }), status: 'checkup_required' },
  { title: 'host not among the first candidates', input: base({ candidateHosts: [['10.0.0.9'], [], ['10.0.0.2']] }), status: 'checkup_required' },
  { title: 'manual, host in its domains', input: base({ manual: true, targetDomains: 1, candidateHosts: [[], ['10.0.0.2'], []] }), status: 'ok_sync' },
  { title: 'manual, host outside its domains', input: base({ manual: true, targetDomains: 1, candidateHosts: [[], ['10.0.0.5'], []] }), status: 'checkup_required' },
  { title: 'manual without config while candidates exist', input: base({ manual: true, targetDomains: 1, state: 'OK_STANDALONE', config: null }), status: 'checkup_required' },
  { title: 'manual without config and no candidate', input: base({ manual: true, targetDomains: 1, state: 'OK_STANDALONE', config: null, candidateHosts: [[], [], []] }), status: 'ok_standalone' },
  { title: 'manual DTL whose domains were deleted still shows its state', input: base({ manual: true, targetDomains: 0 }), status: 'ok_sync' },
];

for (const c of cases) {
  test(`dtl_status: ${c.title}`, (t) => {
    t.is(dtlStatus(c.input), c.status);
  });
}

test('dtl modes: framework and driver names map both ways; the vPool default is a_sync', (t) => {
  t.is(toDriverMode('sync'), 'Synchronous');
  t.is(toDriverMode('a_sync'), 'Asynchronous');
  t.is(toDriverMode('no_sync'), null);
  t.is(toFrameworkMode(null), 'no_sync');
  t.is(toFrameworkMode('Synchronous'), 'sync');
  t.deepEqual(vpoolDtlSettings(undefined), { enabled: true, mode: 'Asynchronous', frameworkMode: 'a_sync' });
  t.deepEqual(vpoolDtlSettings({ dtl_mode: 'no_sync' }), { enabled: false, mode: null, frameworkMode: 'no_sync' });
  t.deepEqual(vpoolDtlSettings({ dtl_mode: 'sync' }), { enabled: true, mode: 'Synchronous', frameworkMode: 'sync' });
});

const flags: Array<[Parameters<typeof manualFlag>, boolean]> = [
  [['a_sync', [], true], false],
  [['a_sync', ['d1'], true], true],
  [['no_sync', [], true], true],
  [['a_sync', [], false], true],
  [['no_sync', [], false], false],
];
for (const [args, expected] of flags) {
  test(`manual flag: ${JSON.stringify(args)} → ${expected}`, (t) => {
    t.is(manualFlag(...args), expected);
  });
}

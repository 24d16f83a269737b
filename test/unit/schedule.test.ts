import test from 'ava';
import { DEFAULT_SCHEDULES, cronOf, dueOccurrence, effectiveSchedules } from '../../src/scheduler/schedule.js';

test('defaults are the original schedules: hourly snapshots, retention at 02:01', (t) => {
  const { entries } = effectiveSchedules(undefined);
  t.is(entries.find((e) => e.task === 'ovs.generic.snapshot_all_vdisks')?.cron, '0 * * * *');
  t.is(entries.find((e) => e.task === 'ovs.generic.delete_snapshots')?.cron, '1 2 * * *');
  t.is(entries.length, Object.keys(DEFAULT_SCHEDULES).length);
});

test('config overrides replace, null disables, an invalid override disables only that task', (t) => {
  const { entries, problems } = effectiveSchedules({
    'ovs.generic.snapshot_all_vdisks': { minute: '*/15' },
    'ovs.generic.delete_snapshots': null,
    'ovs.vdisk.dtl_checkup': { minute: '99' },
    'ovs.mds.mds_checkup': { minuet: '1' } as never,
  });
  t.like(entries.find((e) => e.task === 'ovs.generic.snapshot_all_vdisks'), { cron: '*/15 * * * *', source: 'config' });
  t.falsy(entries.find((e) => e.task === 'ovs.generic.delete_snapshots'));
  t.falsy(entries.find((e) => e.task === 'ovs.vdisk.dtl_checkup'));
  t.falsy(entries.find((e) => e.task === 'ovs.mds.mds_checkup'));
  t.is(problems.length, 2);
  t.truthy(entries.find((e) => e.task === 'ovs.generic.execute_scrub'), 'the others keep their defaults');
});

test('crontab fields default to *', (t) => {
  t.is(cronOf({ minute: 1, hour: 2 }), '1 2 * * *');
  t.is(cronOf({ second: '*/2' }), '*/2 * * * * *');
});

const at = (iso: string) => Date.parse(iso);
const cases: Array<[string, string, string, string, number | undefined]> = [
  ['fires the occurrence just passed', '0 * * * *', '2026-01-01T09:00:00Z', '2026-01-01T10:00:05Z', at('2026-01-01T10:00:00Z')],
  ['not twice for the same occurrence', '0 * * * *', '2026-01-01T10:00:00Z', '2026-01-01T10:30:00Z', undefined],
  ['a missed occurrence within the grace fires once', '0 * * * *', '2026-01-01T09:00:00Z', '2026-01-01T10:05:00Z', at('2026-01-01T10:00:00Z')],
  ['beyond the grace it waits for the next one', '0 * * * *', '2026-01-01T08:00:00Z', '2026-01-01T10:45:00Z', undefined],
  ['daily 02:01', '1 2 * * *', '2026-01-01T02:01:00Z', '2026-01-02T02:01:30Z', at('2026-01-02T02:01:00Z')],
];
for (const [title, cron, last, now, expected] of cases) {
  test(`due occurrence: ${title}`, (t) => {
    process.env.TZ = 'UTC';
    t.is(dueOccurrence(cron, at(last), at(now), 10 * 60_000), expected);
  });
}

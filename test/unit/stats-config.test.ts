import test from 'ava';
import { CronExpressionParser } from 'cron-parser';
import { cronOf } from '../../src/scheduler/schedule.js';
import { methodPlans, parseStatsConfig } from '../../src/policies/stats-config.js';
import { statsCrontab } from '../../src/policies/stats-crontab.js';

const good = { host: '10.0.0.5', port: 8086, database: 'ovs', transport: 'influxdb', environment: 'prod', username: 'u', password: 'p' };

const configCases: Array<[string, unknown, string | undefined]> = [
  ['a complete influxdb config', good, undefined],
  ['redis without credentials', { ...good, transport: 'redis', username: undefined, password: undefined }, undefined],
  ['graphite with per-method intervals', { ...good, transport: 'graphite', interval: 10, get_stats_mds: 5 }, undefined],
  ['missing', undefined, ''],
  ['not a map', 'influxdb://x', ''],
  ['an array', [good], ''],
  ['a wrong transport', { ...good, transport: 'statsd' }, 'transport'],
  ['port 0', { ...good, port: 0 }, 'port'],
  ['port 65536', { ...good, port: 65_536 }, 'port'],
  ['a port as text', { ...good, port: '8086' }, 'port'],
  ['a host name instead of IPv4', { ...good, host: 'influx.local' }, 'host'],
  ['influxdb without a password', { ...good, password: undefined }, 'password'],
  ['no environment', { ...good, environment: undefined }, 'environment'],
  ['interval 0', { ...good, interval: 0 }, 'interval'],
  ['interval over a day', { ...good, interval: 86_401 }, 'interval'],
  ['an unknown key', { ...good, reddis_password: 'x' }, 'reddis_password'],
  ['a per-method interval that is not a number', { ...good, get_stats_mds: 'often' }, 'get_stats_mds'],
];
for (const [title, raw, badPath] of configCases) {
  test(`stats config: ${title}`, (t) => {
    const r = parseStatsConfig(raw);
    if (badPath === undefined) {
      t.deepEqual(r.issues, undefined);
      t.truthy(r.config);
    } else {
      t.truthy(r.issues?.some((i) => i.path === badPath), JSON.stringify(r.issues));
    }
  });
}

test('stats config: the global interval defaults to 60 s', (t) => {
  t.is(parseStatsConfig(good).config?.interval, 60);
});

test('method plans: own interval clamped to the global one; runs fill the global interval', (t) => {
  const plans = methodPlans({ interval: 60, get_stats_mds: 10, get_stats_vpools: 600 }, ['get_stats_mds', 'get_stats_storagerouters', 'get_stats_vpools']);
  t.deepEqual(plans, [
    { method: 'get_stats_mds', intervalS: 10, runs: 6 },
    { method: 'get_stats_storagerouters', intervalS: 60, runs: 1 },
    { method: 'get_stats_vpools', intervalS: 60, runs: 1 },
  ]);
  t.is(methodPlans({ interval: 25, get_stats_mds: 10 }, ['get_stats_mds'])[0]?.runs, 2, 'floor(25 / 10)');
});

const cronCases: Array<[number, string]> = [
  [1, '* * * * *'],
  [30, '* * * * *'],
  [59, '* * * * *'],
  [60, '* * * * *'],
  [119, '* * * * *'],
  [120, '*/2 * * * *'],
  [300, '*/5 * * * *'],
  [3_599, '*/59 * * * *'],
  [3_600, '0 * * * *'],
  [5_400, '0 * * * *'],
  [7_200, '0 */2 * * *'],
  [43_200, '0 */12 * * *'],
  [86_399, '0 */23 * * *'],
  [86_400, '0 3 * * *'],
];
for (const [interval, cron] of cronCases) {
  test(`stats crontab: ${interval} s → ${cron}`, (t) => {
    const text = cronOf(statsCrontab(interval));
    t.is(text, cron);
    t.notThrows(() => CronExpressionParser.parse(text));
  });
}

test('stats crontab: hour patterns run once an hour at minute 0, not every minute of the hour (the original bug)', (t) => {
  const it = CronExpressionParser.parse(cronOf(statsCrontab(7_200)), { currentDate: new Date('2026-01-01T00:00:30Z'), tz: 'UTC' });
  t.deepEqual([it.next(), it.next()].map((d) => d.toISOString()), ['2026-01-01T02:00:00.000Z', '2026-01-01T04:00:00.000Z']);
});

test('stats crontab: below one second is refused', (t) => {
  t.throws(() => statsCrontab(0), { instanceOf: RangeError });
});

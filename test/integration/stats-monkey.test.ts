import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { NatsConnection } from 'nats';
import { createClient } from 'redis';
import { askNode } from '../../src/cli/cluster.js';
import { connectClient, request } from '../../src/client.js';
import type { OvsError } from '../../src/errors.js';
import { AgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/eventually.js';
import { NatsServer } from '../helpers/nats-server.js';
import { startInfluxd, startRedis, udpLines, type ServerProcess } from '../helpers/stats-servers.js';
import { qemuIo } from '../helpers/vpool-cluster.js';

/** Two agent processes serving one vPool, with their HTTP ports open for /metrics; real redis-server and influxd. */
const IPS = ['127.0.0.161', '127.0.0.162'];
const MiB = 1024 * 1024;
let ns: NatsServer;
let nc: NatsConnection;
let dir: string;
let redis: ServerProcess;
const agents: AgentProcess[] = [];
const names: string[] = [];
const sds: Array<{ guid: string; storage_ip: string; ports: { edge: number } }> = [];
let vdisk: string;

interface Point {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, number>;
}

const call = <T = unknown>(task: string, params: Record<string, unknown> = {}): Promise<T> => request<T>(nc, `ovs.task.${task}`, params, { timeoutMs: 60_000 });
const failure = async (p: Promise<unknown>): Promise<OvsError> => p.then(() => { throw new Error('expected a typed error'); }, (e: OvsError) => e);
const nbd = (i: number, name: string): string => `nbd://${sds[i]!.storage_ip}:${sds[i]!.ports.edge}/${name}`;
const setConfig = (key: string, value: unknown): Promise<unknown> => request(nc, 'ovs.config.set', { key, value });
const schedule = async (): Promise<Record<string, unknown>> => (await request<{ value: Record<string, unknown> }>(nc, 'ovs.config.get', { key: '/ovs/framework/scheduling/celery' })).value;
const base = { host: '127.0.0.1', database: 'ovsstats', environment: 'test-env', interval: 1 };

async function redisEntries(key: string): Promise<Point[][]> {
  const c = createClient({ socket: { host: '127.0.0.1', port: redis.port } });
  await c.connect();
  try {
    return (await c.lRange(key, 0, -1)).map((e) => JSON.parse(e) as Point[]);
  } finally {
    await c.close();
  }
}

async function writeByteOf(node: number, key: string): Promise<number> {
  await setConfig('/ovs/framework/monitoring/stats_monkey', { ...base, transport: 'redis', port: redis.port, database: key });
  await call('stats_monkey.run_all');
  const points = (await redisEntries(key)).flat().filter((p) => p.measurement === 'storagerouter' && p.tags.storagerouter_name === names[node]);
  if (points.length !== 1) throw new Error(`expected one storagerouter point for ${names[node]}, got ${JSON.stringify(points)}`);
  return points[0]!.fields.write_byte!;
}

test.before(async () => {
  ns = await NatsServer.start();
  nc = await connectClient(ns.url);
  dir = await mkdtemp(join(tmpdir(), 'ovs-stats-'));
  redis = await startRedis();
  for (const [i, ip] of IPS.entries()) {
    names.push(`stats-${i}`);
    agents.push(await AgentProcess.start({ natsUrl: ns.url, name: `stats-${i}`, ip, extraArgs: ['--http-port', '0'] }));
  }
  const portBase = 30_000 + Math.floor(Math.random() * 300) * 100;
  for (const a of agents) {
    const sr = await request<{ machine_id: string }>(nc, 'ovs.model.storagerouter.get', { guid: a.guid });
    await setConfig(`/ovs/framework/hosts/${sr.machine_id}/ports`, { storagedriver: [[portBase, portBase + 99]] });
  }
  for (const ip of IPS) {
    const r = await call<{ storagedriver_guid: string }>('storagerouter.add_vpool', { parameters: { vpool_name: 'spool', storagerouter_ip: ip, backend_info: { type: 'local', path: join(dir, 'backend') } } });
    sds.push(await request(nc, 'ovs.model.storagedriver.get', { guid: r.storagedriver_guid }));
  }
  vdisk = await call<string>('vdisk.create_new', { volume_name: 'sv1', volume_size: 16 * MiB, storagedriver_guid: sds[0]!.guid });
});

test.after.always(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await nc?.close();
  await ns?.stop();
  await redis?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test.serial('run_all without a configuration, or with a wrong transport or port: STATS_CONFIG', async (t) => {
  t.like(await failure(call('stats_monkey.run_all')), { type: 'STATS_CONFIG' });
  await setConfig('/ovs/framework/monitoring/stats_monkey', { ...base, transport: 'carbon', port: 2003 });
  const wrong = await failure(call('stats_monkey.run_all'));
  t.like(wrong, { type: 'STATS_CONFIG', retryable: false });
  t.true((wrong.details.issues as Array<{ path: string }>).some((i) => i.path === 'transport'));
  await setConfig('/ovs/framework/monitoring/stats_monkey', { ...base, transport: 'redis', port: 70_000 });
  t.true(((await failure(call('stats_monkey.run_all'))).details.issues as Array<{ path: string }>).some((i) => i.path === 'port'));
});

test.serial('redis: every method LPUSHes its points; a vDisk write moves its StorageRouter write_byte by exactly the bytes written', async (t) => {
  t.regex(await qemuIo(nbd(0, 'sv1'), 'write -P 0x11 0 2M'), /wrote 2097152/);
  const before = await writeByteOf(0, 'redis-before');
  const entries = (await redisEntries('redis-before')).flat();
  t.deepEqual([...new Set(entries.map((p) => p.measurement))].sort(), ['mds', 'storagerouter', 'vpool']);
  t.true(entries.every((p) => p.tags.environment === 'test-env'), 'environment on every point');
  const sr0 = entries.find((p) => p.measurement === 'storagerouter' && p.tags.storagerouter_name === names[0])!;
  t.like(sr0.fields, { amount_vdisks: 1 });
  t.true(sr0.fields.write_byte! >= 2 * MiB);
  t.is(sr0.fields.write_operations, Math.floor(sr0.fields.write_byte! / 4096), '4k write operations = bytes / block size');
  const vp = entries.find((p) => p.measurement === 'vpool')!;
  t.is(vp.tags.vpool_name, 'spool');
  t.false(Object.keys(vp.fields).some((k) => k.endsWith('_ps')), 'rates are dropped from vpool fields');
  t.true(vp.fields.data_written! >= 2 * MiB);
  const mds = entries.filter((p) => p.measurement === 'mds');
  t.true(mds.length >= 2, 'one MDS service per node at least');
  t.true(mds.some((p) => p.fields.masters === 1), 'the vDisk has a master MDS');

  t.regex(await qemuIo(nbd(0, 'sv1'), 'write -P 0x22 4M 1M'), /wrote 1048576/);
  t.is(await writeByteOf(0, 'redis-after'), before + MiB);
  t.is(await writeByteOf(1, 'redis-other'), 0, 'the other node served no writes');
});

test.serial('influxdb: the points are written to a real influxd and read back over /query', async (t) => {
  const influx = await startInfluxd();
  try {
    await influx.query('CREATE DATABASE ovsstats');
    await setConfig('/ovs/framework/monitoring/stats_monkey', { ...base, transport: 'influxdb', port: influx.port, username: 'ovs', password: 'secret' });
    await call('stats_monkey.run_all');
    const r = (await influx.query('SELECT write_byte, amount_vdisks FROM storagerouter WHERE environment = \'test-env\' GROUP BY storagerouter_name', 'ovsstats')) as {
      results: Array<{ series?: Array<{ tags: { storagerouter_name: string }; columns: string[]; values: unknown[][] }> }>;
    };
    const series = r.results[0]?.series ?? [];
    t.deepEqual(series.map((s) => s.tags.storagerouter_name).sort(), names);
    const node0 = series.find((s) => s.tags.storagerouter_name === names[0])!;
    t.true(Number(node0.values[0]![node0.columns.indexOf('write_byte')]) >= 3 * MiB);
    const mds = (await influx.query('SELECT count(masters) FROM mds', 'ovsstats')) as { results: Array<{ series?: unknown[] }> };
    t.truthy(mds.results[0]?.series, 'mds points were written too');
  } finally {
    await influx.stop();
  }
});

test.serial('graphite: one UDP line per field, openvstorage.fwk.<database>.<environment>.<measurement>...', async (t) => {
  const udp = await udpLines();
  try {
    await setConfig('/ovs/framework/monitoring/stats_monkey', { ...base, transport: 'graphite', port: udp.port });
    await call('stats_monkey.run_all');
    const line = new RegExp(`^openvstorage\\.fwk\\.ovsstats\\.test-env\\.storagerouter\\.${names[0]}\\.write_byte (\\d+) (\\d+)$`);
    const mds = /^openvstorage\.fwk\.ovsstats\.test-env\.mds\.spool\.stats-[01]\.0\.masters \d+ \d+$/;
    const vpool = /^openvstorage\.fwk\.ovsstats\.test-env\.vpool\.spool\.data_written \d+ \d+$/;
    // Datagrams sent before run_all answered may still be on their way to this process.
    await waitFor('the lines of every method', () => [line, mds, vpool].every((re) => udp.lines.some((l) => re.test(l)))).catch(() => undefined);
    const found = udp.lines.find((l) => line.test(l));
    t.truthy(found, udp.lines.slice(0, 5).join('\n'));
    t.true(Number(line.exec(found!)![1]) >= 3 * MiB);
    t.true(udp.lines.some((l) => mds.test(l)), 'mds path: vpool, node, number');
    t.true(udp.lines.some((l) => vpool.test(l)));
  } finally {
    udp.close();
  }
});

test.serial('a monitoring server that is down: STATS_SEND_FAILED naming every method, sorted', async (t) => {
  const down = await startRedis();
  await down.stop();
  await setConfig('/ovs/framework/monitoring/stats_monkey', { ...base, transport: 'redis', port: down.port });
  const e = await failure(call('stats_monkey.run_all'));
  t.like(e, { type: 'STATS_SEND_FAILED', retryable: true });
  t.deepEqual(e.details.failed, ['get_stats_mds', 'get_stats_storagerouters', 'get_stats_vpools']);
});

test.serial('/metrics: each agent exports its own node\'s figures with bounded labels', async (t) => {
  const texts = await Promise.all(agents.map(async (a) => {
    const info = await askNode<{ http_url: string }>(nc, a.guid, 'info');
    return (await fetch(`${info.http_url}/metrics`)).text();
  }));
  const written = new RegExp(`^ovs_storagedriver_write_bytes\\{vpool="spool",storagerouter="${names[0]}"\\} (\\d+)$`, 'm');
  t.true(Number(written.exec(texts[0]!)?.[1]) >= 3 * MiB, texts[0]!.split('\n').filter((l) => l.startsWith('ovs_storagedriver')).join('\n'));
  t.regex(texts[0]!, new RegExp(`^ovs_storagedriver_vdisks\\{vpool="spool",storagerouter="${names[0]}"\\} 1$`, 'm'));
  t.regex(texts[1]!, new RegExp(`^ovs_storagedriver_write_bytes\\{vpool="spool",storagerouter="${names[1]}"\\} 0$`, 'm'));
  t.notRegex(texts[1]!, new RegExp(`storagerouter="${names[0]}"`), 'node 1 exports only its own figures');
  t.regex(texts[0]!, new RegExp(`^ovs_mds_masters\\{vpool="spool",storagerouter="${names[0]}",mds_number="0"\\} \\d+$`, 'm'));
  t.false(texts.some((x) => x.includes(vdisk)), 'no vDisk guid in any label');
});

test.serial('configure_support: stats on sets a crontab from the interval and stores the config; off clears it; support_agent is stored', async (t) => {
  const config = { ...base, transport: 'redis', port: redis.port, interval: 7200 };
  t.deepEqual(await call('storagerouter.configure_support', { support_info: { stats_monkey: true, stats_monkey_config: config, support_agent: true } }), { changed: ['support_agent', 'stats_monkey'] });
  t.like(await schedule(), { 'ovs.stats_monkey.run_all': { minute: '0', hour: '*/2' }, 'alba.stats_monkey.run_all': null });
  t.like(await call('storagerouter.get_support_info'), { stats_monkey: true, support_agent: true, remote_access: false, stats_monkey_config: config });
  t.deepEqual(await call('storagerouter.configure_support', { support_info: { stats_monkey: true, stats_monkey_config: config } }), { changed: [] }, 'nothing differs: nothing changes');
  await call('storagerouter.configure_support', { support_info: { stats_monkey: true, stats_monkey_config: { ...config, interval: 20 } } });
  t.like(await schedule(), { 'ovs.stats_monkey.run_all': { minute: '*' } }, 'a sub-minute interval runs every minute');
  await call('storagerouter.configure_support', { support_info: { stats_monkey: false } });
  t.like(await schedule(), { 'ovs.stats_monkey.run_all': null });
  t.like(await call('storagerouter.get_support_info'), { stats_monkey: false });
});

test.serial('configure_support: bad input is refused with typed errors and changes nothing', async (t) => {
  const before = { info: await call('storagerouter.get_support_info'), schedule: await schedule() };
  t.like(await failure(call('storagerouter.configure_support', { support_info: { stats_monkey: 'yes' } })), { type: 'VALIDATION_FAILED' });
  const remote = await failure(call('storagerouter.configure_support', { support_info: { support_agent: true, remote_access: true } }));
  t.like(remote, { type: 'SUPPORT_NOT_AVAILABLE', retryable: false });
  t.regex(remote.message, /not available in this port/);
  const wrong = await failure(call('storagerouter.configure_support', { support_info: { stats_monkey: true, stats_monkey_config: { ...base, transport: 'statsd', port: 8125 } } }));
  t.like(wrong, { type: 'STATS_CONFIG' });
  const port = await failure(call('storagerouter.configure_support', { support_info: { stats_monkey: true, support_agent: false, stats_monkey_config: { ...base, transport: 'redis', port: 0 } } }));
  t.true((port.details.issues as Array<{ path: string }>).some((i) => i.path === 'port'));
  t.deepEqual({ info: await call('storagerouter.get_support_info'), schedule: await schedule() }, before);
});

test.serial('configure_support with a StorageRouter down: NOT_AVAILABLE naming it, retryable', async (t) => {
  await agents[1]!.kill9AndWait();
  const e = await failure(call('storagerouter.configure_support', { support_info: { support_agent: false } }));
  t.like(e, { type: 'NOT_AVAILABLE', retryable: true });
  t.deepEqual((e.details.storagerouters as Array<{ name: string }>).map((s) => s.name), [names[1]]);
  t.like(await call('storagerouter.get_support_info'), { support_agent: true }, 'nothing changed');
});

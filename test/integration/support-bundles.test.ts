import test from 'ava';
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { request } from '../../src/client.js';
import { ownVersion } from '../../src/host/versions.js';
import { AgentProcess } from '../helpers/agent-process.js';
import { startVpoolCluster, type VpoolCluster } from '../helpers/vpool-cluster.js';

const run = promisify(execFile);
const REAL_BIN = new URL('../../src/bin/ovs.js', import.meta.url).pathname;

let cluster: VpoolCluster;
let outsider: AgentProcess;
let scratch: string;
let vdiskGuid: string;

/**
 * The agent as an operator might run it by hand: stdout and stderr appended to `<data dir>/stdout.log`, the HTTP port
 * on. A small launcher stands in for the shell redirect; the agent writes its own pid file, so the helper stops it.
 */
const LAUNCHER = `
import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
const args = process.argv.slice(2);
const dataDir = args[args.indexOf('--data-dir') + 1];
mkdirSync(dataDir, { recursive: true });
const out = openSync(join(dataDir, 'stdout.log'), 'a');
const child = spawn(process.execPath, [${JSON.stringify(REAL_BIN)}, ...args, '--http-port', '0'], { stdio: ['ignore', out, out] });
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => (child.exitCode !== null || child.signalCode !== null ? process.exit(0) : child.kill(sig)));
child.on('exit', (code) => process.exit(code ?? 1));
`;

test.before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'ovs-bundles-test-'));
  const launcher = join(scratch, 'launcher.mjs');
  await writeFile(launcher, LAUNCHER);
  cluster = await startVpoolCluster({ ips: ['127.0.0.81', '127.0.0.82'], vpoolName: 'bundles', offlineAfterS: 30, bin: launcher });
  outsider = await AgentProcess.start({ natsUrl: cluster.ns.url, name: 'bundles-outsider', ip: '127.0.0.83', testTasks: false });
  vdiskGuid = await cluster.call<string>('vdisk.create_new', { volume_name: 'disk1', volume_size: 64 * 1024 * 1024, storagedriver_guid: cluster.sds[0]!.guid });
});

test.after.always(async () => {
  await outsider?.stop();
  await cluster?.stop();
  await rm(scratch, { recursive: true, force: true });
});

async function httpUrlOf(agent: AgentProcess): Promise<string> {
  return (JSON.parse(await readFile(join(agent.dataDir, 'ready.json'), 'utf8')) as { http_url: string }).http_url;
}

/** A GET whose path is sent as written (node's client does not normalise `..` or `%2e`). */
function get(base: string, path: string, to?: string): Promise<{ status: number; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path, method: 'GET' }, (res) => {
      if (to && res.statusCode === 200) {
        pipeline(res, createWriteStream(to)).then(() => resolve({ status: 200, body: '' }), reject);
        return;
      }
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function rejectsWith(t: import('ava').ExecutionContext, p: Promise<unknown>, type: string, message?: RegExp): Promise<void> {
  const e = await t.throwsAsync(p);
  t.is((e as { type?: string }).type, type, e?.message);
  if (message) t.regex(e?.message ?? '', message);
}

test('get_logfiles: a tar.gz of the node\'s logs, journal note and state summary, downloadable from its HTTP port', async (t) => {
  const [a0] = cluster.agents;
  await writeFile(join(a0!.dataDir, 'stdout.log.1'), '{"msg":"a rotated line"}\n');
  const name = await cluster.call<string>('storagerouter.get_logfiles', { local_storagerouter_guid: a0!.guid });
  t.regex(name, /^ovs-bundles-0-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d-logs\.tar\.gz$/);
  const file = join(scratch, name);
  t.is((await get(await httpUrlOf(a0!), `/downloads/${name}`, file)).status, 200);
  const base = name.replace(/-logs\.tar\.gz$/, '');
  const listed = (await run('tar', ['-tzf', file])).stdout.split('\n').filter((l) => l !== '');
  for (const entry of [`${base}/summary.json`, `${base}/logs/stdout.log`, `${base}/logs/stdout.log.1`]) t.true(listed.includes(entry), `${entry} in ${listed.join(', ')}`);
  t.true(listed.includes(`${base}/journal.txt`) || listed.includes(`${base}/journal-unavailable.txt`));

  const out = join(scratch, 'x0');
  await run('mkdir', ['-p', out]);
  await run('tar', ['-xzf', file, '-C', out]);
  t.regex(await readFile(join(out, base, 'logs', 'stdout.log'), 'utf8'), /"msg":"agent ready"/);
  t.is(await readFile(join(out, base, 'logs', 'stdout.log.1'), 'utf8'), '{"msg":"a rotated line"}\n');
  const summary = JSON.parse(await readFile(join(out, base, 'summary.json'), 'utf8')) as {
    agent: { version: string };
    storagerouter: { guid: string; name: string; machine_id: string };
    storagedrivers: Array<{ guid: string; vpool: { guid: string; name: string }; vdisks: Array<{ guid: string; name: string; dtl_status: unknown }> }>;
    mds_services: Array<{ vpool_guid: string }>;
    config: Record<string, unknown>;
    errors: string[];
  };
  t.is(summary.agent.version, ownVersion());
  t.like(summary.storagerouter, { guid: a0!.guid, name: 'bundles-0' });
  t.is(summary.storagedrivers.length, 1);
  t.like(summary.storagedrivers[0], { guid: cluster.sds[0]!.guid, vpool: { guid: cluster.vpool, name: 'bundles' } });
  const vdisk = summary.storagedrivers[0]!.vdisks.find((v) => v.guid === vdiskGuid);
  t.is(vdisk?.name, 'disk1');
  t.is(typeof vdisk?.dtl_status, 'string', 'the DTL state of each vDisk it serves');
  t.true(summary.mds_services.some((m) => m.vpool_guid === cluster.vpool), JSON.stringify(summary.mds_services));
  const portsKey = `/ovs/framework/hosts/${summary.storagerouter.machine_id}/ports`;
  t.deepEqual(summary.config[portsKey], (await request<{ value: unknown }>(cluster.nc, 'ovs.config.get', { key: portsKey })).value, 'the host\'s configuration keys');
  t.deepEqual(summary.errors, []);
});

test('get_logfiles runs on the node asked for: the bundle is in its downloads, not the caller\'s', async (t) => {
  const [a0, a1] = cluster.agents;
  // Asked through agent 0's connection (any agent receives it); the router sends it to agent 1.
  const name = await request<string>(cluster.nc, 'ovs.task.storagerouter.get_logfiles', { local_storagerouter_guid: a1!.guid }, { timeoutMs: 60_000 });
  t.regex(name, /^ovs-bundles-1-/);
  t.true((await readdir(join(a1!.dataDir, 'downloads'))).includes(name));
  t.is((await get(await httpUrlOf(a0!), `/downloads/${name}`)).status, 404);
  t.is((await get(await httpUrlOf(a1!), `/downloads/${name}`, join(scratch, name))).status, 200);
});

test('get_logfiles for an unknown node: OBJECT_NOT_FOUND; bad guid: VALIDATION_FAILED', async (t) => {
  await rejectsWith(t, cluster.call('storagerouter.get_logfiles', { local_storagerouter_guid: 'no-such-node' }), 'OBJECT_NOT_FOUND', /storagerouter 'no-such-node' not found/);
  await rejectsWith(t, cluster.call('storagerouter.get_logfiles', { local_storagerouter_guid: '../etc' }), 'VALIDATION_FAILED');
});

test('/downloads refuses path tricks with 4xx and never serves a file outside the downloads dir', async (t) => {
  const [a0] = cluster.agents;
  const base = await httpUrlOf(a0!);
  for (const trick of ['/downloads/../identity.json', '/downloads/..%2fidentity.json', '/downloads/%2e%2e%2fidentity.json', '/downloads/%2E%2E/identity.json', '/downloads//identity.json', '/downloads/./../identity.json', '/downloads/..', '/downloads/.']) {
    const r = await get(base, trick);
    t.true(r.status >= 400 && r.status < 500, `${trick}: ${r.status}`);
    t.false(r.body.includes('machine_id'), trick);
  }
  t.is((await get(base, '/downloads/identity.json')).status, 404);
});

test('get_support_metadata: cluster id, node id, versions and the agent\'s actors; errors listed, not thrown', async (t) => {
  const r = await cluster.call<{ cid: string; nid: string; metadata: { versions: Record<string, string>; services: Record<string, string> }; errors?: string[] }>('storagerouter.get_support_metadata', {});
  const cid = await request<{ value: string }>(cluster.nc, 'ovs.config.get', { key: '/ovs/framework/cluster_id' });
  t.is(r.cid, cid.value);
  const machineIds = await Promise.all([...cluster.agents, outsider].map(async (a) => (await request<{ machine_id: string }>(cluster.nc, 'ovs.model.storagerouter.get', { guid: a.guid })).machine_id));
  t.true(machineIds.includes(r.nid));
  t.is(r.metadata.versions.ovs, ownVersion());
  t.is(r.metadata.versions.node, process.versions.node);
  t.true(Object.keys(r.metadata.services).length > 0);
  t.true(Object.values(r.metadata.services).every((s) => typeof s === 'string'));
  t.is(r.errors, undefined, JSON.stringify(r.errors));
});

test('get_proxy_config: the backend connection of the vPool on that node; typed errors otherwise', async (t) => {
  const r = await cluster.call<Record<string, unknown>>('storagerouter.get_proxy_config', { vpool_guid: cluster.vpool, storagerouter_guid: cluster.agents[1]!.guid });
  t.like(r, { vpool_guid: cluster.vpool, vpool_name: 'bundles', storagerouter_guid: cluster.agents[1]!.guid, storagedriver_guid: cluster.sds[1]!.guid, backend_info: { type: 'local', path: join(cluster.dir, 'backend') } });
  // The backend is named by a guid derived from where it stores; the backend hooks find the vPool by it.
  t.regex(String(r.backend_guid), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  t.like(await cluster.call('generic.run_backend_domain_hooks', { backend_guid: r.backend_guid }), { backend_guid: r.backend_guid, vpools: [cluster.vpool] });
  await rejectsWith(t, cluster.call('storagerouter.get_proxy_config', { vpool_guid: cluster.vpool, storagerouter_guid: outsider.guid }), 'VPOOL_NOT_EXTENDED', /vPool bundles has not been extended to StorageRouter bundles-outsider/);
  await rejectsWith(t, cluster.call('storagerouter.get_proxy_config', { vpool_guid: 'no-such-vpool', storagerouter_guid: outsider.guid }), 'OBJECT_NOT_FOUND');
  await rejectsWith(t, cluster.call('storagerouter.get_proxy_config', { vpool_guid: cluster.vpool, storagerouter_guid: 'no-such-node' }), 'OBJECT_NOT_FOUND');
});

test('create_hprm_config_files: a zip with config.json and README.txt, downloadable from the node asked for', async (t) => {
  const [a0] = cluster.agents;
  const parameters = { port: 8123, identifier: 'hprm1', block: { read: true, write: true, path: ' /var//cache/hprm ', size: 2 } };
  const name = await cluster.call<string>('storagerouter.create_hprm_config_files', { vpool_guid: cluster.vpool, local_storagerouter_guid: a0!.guid, parameters });
  t.is(name, 'hprm_config_files_hprm1_bundles.zip');
  const file = join(scratch, name);
  t.is((await get(await httpUrlOf(a0!), `/downloads/${name}`, file)).status, 200);
  const listing = (await run('unzip', ['-l', file])).stdout;
  t.regex(listing, /hprm1\/config\.json/);
  t.regex(listing, /hprm1\/README\.txt/);
  const config = JSON.parse((await run('unzip', ['-p', file, 'hprm1/config.json'])).stdout) as Record<string, unknown>;
  t.like(config, {
    port: 8123, identifier: 'hprm1', vpool: { guid: cluster.vpool, name: 'bundles' },
    backend: { backend_info: { type: 'local', path: join(cluster.dir, 'backend') }, storagedriver_guid: cluster.sds[0]!.guid },
    nats: { servers: [cluster.ns.url] },
    block_cache: ['local', { path: '/var/cache/hprm', max_size: 2 * 1024 ** 3, cache_on_read: true, cache_on_write: true }],
    fragment_cache: ['none'],
  });
  t.like(config.geometry, { cluster_size: 4 });
  t.regex((await run('unzip', ['-p', file, 'hprm1/README.txt'])).stdout, /config\.json/);
});

test('create_hprm_config_files: bad parameters, unknown vPool or node are typed errors', async (t) => {
  const node = cluster.agents[0]!.guid;
  const good = { port: 8123, identifier: 'hprm1', block: { read: true, write: true, path: '/c', size: 1 } };
  for (const parameters of [{ port: 8123, identifier: 'hprm1' }, { ...good, port: 70_000 }, { ...good, identifier: 'Bad_Id' }, { ...good, block: { ...good.block, path: '/a/../b' } }, { ...good, block: { ...good.block, size: 0 } }]) {
    await rejectsWith(t, cluster.call('storagerouter.create_hprm_config_files', { vpool_guid: cluster.vpool, local_storagerouter_guid: node, parameters }), 'VALIDATION_FAILED');
  }
  await rejectsWith(t, cluster.call('storagerouter.create_hprm_config_files', { vpool_guid: 'no-such-vpool', local_storagerouter_guid: node, parameters: good }), 'OBJECT_NOT_FOUND');
  await rejectsWith(t, cluster.call('storagerouter.create_hprm_config_files', { vpool_guid: cluster.vpool, local_storagerouter_guid: 'no-such-node', parameters: good }), 'OBJECT_NOT_FOUND');
});

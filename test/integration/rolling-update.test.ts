import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from '../../src/client.js';
import type { UpdatePlan } from '../../src/update/plan.js';
import { UPDATE_STATE_KEY } from '../../src/update/plan.js';
import { UPDATE_SOURCE_KEY } from '../../src/update/release.js';
import { waitFor } from '../helpers/eventually.js';
import { runFio, startReconnectingNbd, type FioResult } from '../helpers/reconnecting-nbd.js';
import { installForTest, makeRelease } from '../helpers/releases.js';
import { run } from '../helpers/run.js';
import { qemuIo, startVpoolCluster, type VpoolCluster } from '../helpers/vpool-cluster.js';

const MiB = 1024 * 1024;
const BIN = new URL('../../src/bin/ovs.js', import.meta.url).pathname;
const ovs = (...args: string[]): ReturnType<typeof run> => run(process.execPath, [BIN, ...args]);

async function releases(t: { teardown(fn: () => Promise<void>): void }, ...versions: Array<[string, { breakAgent?: boolean }?]>): Promise<{ dir: string; files: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'ovs-ru-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const files = [];
  for (const [v, o] of versions) files.push(await makeRelease(v, dir, o));
  return { dir, files };
}

const versionOf = async (c: VpoolCluster, sr: string): Promise<string> => (await c.call<{ versions: { ovs: string } }>('storagerouter.get_version_info', { storagerouter_guid: sr })).versions.ovs;
const ownerOf = async (c: VpoolCluster, vdisk: string): Promise<string> => (await request<{ storagerouter_guid: string }>(c.nc, 'ovs.model.vdisk.get', { guid: vdisk })).storagerouter_guid;
const plan = async (c: VpoolCluster): Promise<UpdatePlan> => (await request<{ value: UpdatePlan }>(c.nc, 'ovs.config.get', { key: UPDATE_STATE_KEY })).value;

async function finished(c: VpoolCluster): Promise<UpdatePlan> {
  return waitFor('the update to finish', async () => {
    const p = await plan(c).catch(() => undefined);
    return p && p.status !== 'running' ? p : undefined;
  }, 300_000, 500);
}

async function edgeOf(c: VpoolCluster, vdisk: string): Promise<string> {
  const owner = await ownerOf(c, vdisk);
  const sd = c.sds.find((x) => x.storagerouter_guid === owner)!;
  return `nbd://${sd.storage_ip}:${sd.ports.edge}`;
}

test('a rolling update moves every node from one release tarball to the next, one at a time, under fio --verify with no I/O error', async (t) => {
  const { dir, files: [a, b] } = await releases(t, ['0.1.0-ru.1'], ['0.1.0-ru.2']);
  const binA = await installForTest(a!, join(dir, 'base'));
  const c = await startVpoolCluster({ ips: ['127.0.0.2', '127.0.0.3', '127.0.0.4'], vpoolName: 'rollup', offlineAfterS: 30, bin: binA });
  t.teardown(() => c.stop());
  for (const agent of c.agents) t.is(await versionOf(c, agent.guid), '0.1.0-ru.1');
  const pidsBefore = await Promise.all(c.agents.map((x) => x.pid()));

  const vd = await c.call<string>('vdisk.create_new', { volume_name: 'ru1', volume_size: 64 * MiB, storagedriver_guid: c.sds[0]!.guid });
  t.notRegex(await qemuIo(`${await edgeOf(c, vd)}/ru1`, `write -P 0x5c ${48 * MiB} ${8 * MiB}`), /error|fail/i);

  const check = await ovs('update', 'check', '--source', b!, '--json', '--nats', c.ns.url);
  t.like(JSON.parse(check.stdout), { downtime: { framework: { downtime: [], prerequisites: [] } } }, check.stderr);
  const merged = await c.call<Record<string, { framework?: Record<string, unknown> }>>('update.merge_package_information', {});
  t.deepEqual(Object.keys(merged).sort(), ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
  for (const ip of Object.keys(merged)) t.deepEqual(merged[ip]!.framework, { ovs: { installed: '0.1.0-ru.1', candidate: '0.1.0-ru.2' } });
  t.deepEqual(await c.call('update.merge_downtime_information', {}), { framework: { downtime: [], prerequisites: [] } });
  t.like(await c.call('update.get_update_metadata', { storagerouter_ip: '127.0.0.3' }), { reachable: true, at_ok: true, update_ongoing: false });

  // A VM's disk: qemu's NBD client with reconnect-delay on the vDisk's node, fio --verify writing through it in
  // phases for the whole update; every node restarts, the vDisk moves away and back.
  const front = await startReconnectingNbd({ host: c.sds[0]!.storage_ip, port: c.sds[0]!.ports.edge, exportName: 'ru1', reconnectDelayS: 120 });
  t.teardown(() => front.stop());
  const fio: FioResult[] = [];
  let updating = true;
  const load = (async () => {
    while (updating) fio.push(await runFio({ uri: front.uri, sizeBytes: 32 * MiB, runtimeS: 3 }));
    fio.push(await runFio({ uri: front.uri, sizeBytes: 32 * MiB, runtimeS: 2 }));
  })();
  await waitFor('fio writing', () => fio.length > 0, 60_000, 100);

  const started = await c.call<{ update_id: string; storagerouters: string[] }>('update.update_components', { components: ['framework'] });
  t.is(started.storagerouters.length, 3);
  const done = await finished(c).finally(() => {
    updating = false;
  });
  await load;
  t.true(fio.length >= 3, `fio ran ${fio.length} phases`);
  t.log(`fio: ${fio.length} phases, ${fio.reduce((n, r) => n + r.writeIos, 0)} writes and ${fio.reduce((n, r) => n + r.readIos, 0)} verify reads, update took ${Math.round((done.finished_at! - done.started_at) / 1000)} s`);
  for (const [i, r] of fio.entries()) {
    t.is(r.error, 0, `fio phase ${i}: ${r.stderr}\n${front.output()}`);
    t.is(r.totalErrors, 0, `fio phase ${i} errors`);
    t.true(r.writeIos > 0, `fio phase ${i} wrote`);
  }
  t.is(done.status, 'done', JSON.stringify(done.log, null, 1));
  t.deepEqual(done.nodes.map((n) => n.step), ['done', 'done', 'done']);
  // One node at a time: each node's vDisks went away before its restart and came back after it.
  const steps = done.log.map((l) => l.message);
  t.false(steps.some((m) => /failed/.test(m)), steps.join('\n'));
  const order = done.nodes.map((n) => steps.findIndex((m) => m.startsWith(`restarting ${n.name}`)));
  t.true(order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1]!)), steps.join('\n'));
  // The node running the update restarted too (it goes last): a new agent process took over and finished the plan.
  const lastRestart = done.log[order[order.length - 1]!]!;
  t.not(done.log[done.log.length - 1]!.by, lastRestart.by, 'the update was resumed by another agent process');

  for (const agent of c.agents) t.is(await versionOf(c, agent.guid), '0.1.0-ru.2');
  t.like(JSON.parse((await ovs('update', 'status', '--json', '--nats', c.ns.url)).stdout), { status: 'done', version: '0.1.0-ru.2' });
  const pidsAfter = await Promise.all(c.agents.map((x) => x.pid()));
  pidsAfter.forEach((p, i) => t.not(p, pidsBefore[i], 'each agent restarted on the new release'));
  t.is(await ownerOf(c, vd), c.sds[0]!.storagerouter_guid, 'the vDisk is back on its node');
  t.notRegex(await qemuIo(`${await edgeOf(c, vd)}/ru1`, `read -P 0x5c ${48 * MiB} ${8 * MiB}`), /error|fail|mismatch/i);
  await c.call('generic.refresh_package_information', {});
  t.deepEqual(await c.call('update.merge_downtime_information', {}), {}, 'nothing left to update');
});

test('a broken release stops the update at the first node and leaves every node on its release; bad input is refused', async (t) => {
  const { dir, files: [a, broken] } = await releases(t, ['0.1.0-ru.1'], ['0.1.0-ru.3', { breakAgent: true }]);
  const binA = await installForTest(a!, join(dir, 'base'));
  const c = await startVpoolCluster({ ips: ['127.0.0.5', '127.0.0.6'], vpoolName: 'rollbroken', offlineAfterS: 30, bin: binA });
  t.teardown(() => c.stop());
  const pidsBefore = await Promise.all(c.agents.map((x) => x.pid()));
  const vd = await c.call<string>('vdisk.create_new', { volume_name: 'rb1', volume_size: 64 * MiB, storagedriver_guid: c.sds[0]!.guid });

  // Bad input first: no source, a source that does not exist, garbage, an unknown component, an unknown node.
  await t.throwsAsync(c.call('update.update_components', { components: ['framework'] }), { message: /no update source is configured/ });
  await request(c.nc, 'ovs.config.set', { key: UPDATE_SOURCE_KEY, value: join(dir, 'missing.tgz') });
  const missing = await t.throwsAsync(c.call('generic.refresh_package_information', {}));
  t.is((missing as { type?: string }).type, 'UPDATE_SOURCE');
  await t.throwsAsync(c.call('update.update_components', { components: ['framework'] }), { message: /does not exist/ });
  const unknown = await t.throwsAsync(c.call('update.update_components', { components: ['alba'] }));
  t.is((unknown as { type?: string }).type, 'VALIDATION_FAILED');
  const nobody = await t.throwsAsync(c.call('update.get_update_metadata', { storagerouter_ip: '10.9.9.9' }));
  t.is((nobody as { type?: string }).type, 'OBJECT_NOT_FOUND');

  await request(c.nc, 'ovs.config.set', { key: UPDATE_SOURCE_KEY, value: broken });
  await c.call('update.update_components', { components: ['framework'] });
  const failed = await finished(c);
  t.is(failed.status, 'failed');
  t.is(failed.nodes[0]!.step, 'failed');
  t.regex(failed.nodes[0]!.error ?? '', /start check/);
  t.regex(failed.error ?? '', new RegExp(`stopped at ${failed.nodes[0]!.name}`));
  t.deepEqual(failed.nodes.slice(1).map((n) => n.step), ['pending'], 'the rest is untouched');
  for (const agent of c.agents) t.is(await versionOf(c, agent.guid), '0.1.0-ru.1');
  t.deepEqual(await Promise.all(c.agents.map((x) => x.pid())), pidsBefore, 'no agent restarted');
  t.is(await ownerOf(c, vd), c.sds[0]!.storagerouter_guid);
  t.like(await c.call('update.get_update_metadata', { storagerouter_ip: '127.0.0.5' }), { update_ongoing: false });
});

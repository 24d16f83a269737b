import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { pino } from 'pino';
import { LocalDirBackend } from '../../src/dataplane/backend/local-dir.js';
import { TEST_GEOMETRY } from '../../src/dataplane/common/geometry.js';
import { parseScoName } from '../../src/dataplane/common/names.js';
import { FileRegistry } from '../../src/dataplane/driver/registry.js';
import { VolumeDriver } from '../../src/dataplane/driver/volume-driver.js';
import { DtlServer } from '../../src/dataplane/dtl/server.js';
import { expectedAfter, dtlWrites } from '../helpers/dtl-writes.js';
import { harness, pattern } from '../helpers/volume-harness.js';
import { waitFor } from '../helpers/eventually.js';

const CHILD = new URL('../helpers/dtl-child.js', import.meta.url).pathname;
const MiB = 1024 * 1024;
const CLUSTER = 4096;
const log = pino({ level: process.env.OVS_TEST_LOG ?? 'silent' });

/** The second node of a test: same backend and registry file as the child's node1, its own data directory. */
async function secondNode(dir: string): Promise<VolumeDriver> {
  const d = new VolumeDriver({
    vpool: 'pool', nodeId: 'node2', dataRoot: join(dir, 'data2'), backend: new LocalDirBackend(join(dir, 'backend')), geometry: TEST_GEOMETRY,
    allowTinyScos: true, registry: new FileRegistry(join(dir, 'data', 'pool', 'registry.json')), log, dtlTimeouts: { connectTimeoutMs: 500, requestTimeoutMs: 2000 },
  });
  await d.start();
  return d;
}

async function crashedOwner(dir: string, volumeId: string, size: number, port: number, mode: 'sync' | 'async'): Promise<string[]> {
  const child = spawn(process.execPath, [CHILD, dir, volumeId, String(size), String(port), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const said: string[] = [];
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => {
      said.push(...b.toString().trim().split('\n'));
      if (said.some((l) => l.startsWith('acked'))) resolve();
    });
    child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  return said;
}

async function dtlServer(): Promise<{ server: DtlServer; port: number; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'ovs-dtlsrv-'));
  const server = new DtlServer(dir);
  return { server, port: await server.listen(0, '127.0.0.1'), dir };
}

test('I14: with a sync DTL every acknowledged write survives SIGKILL of the owner; the new owner replays it from the DTL', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ovs-i14-'));
  const dtl = await dtlServer();
  const size = 4 * MiB;
  const said = await crashedOwner(dir, 'i14', size, dtl.port, 'sync');
  t.deepEqual(said, ['acked OK_SYNC'], 'every write was acknowledged while the DTL was in sync');

  const node2 = await secondNode(dir);
  await node2.set_node_state({ node_id: 'node1', state: 'OFFLINE' });
  const stolen = await node2.steal_volume({ volume_id: 'i14' });
  t.is(stolen.dtl_replay.status, 'replayed');
  t.true(stolen.dtl_replay.entries > 0, 'the backend lacked writes the DTL had');
  const v = node2.running('i14')!;
  const image = await v.read(0, size);
  t.true(image.equals(expectedAfter(size, [0, 1]).data), 'every acknowledged byte is there');
  // The DTL configuration came along: the new owner protects its writes on the same DTL.
  t.is(v.dtl.state, 'OK_SYNC');
  t.deepEqual(node2.get_dtl_config({ volume_id: 'i14' }), { host: '127.0.0.1', port: dtl.port, mode: 'Synchronous' });
  // A backend restart from scratch (a third node) finds the same bytes: the replay reached the backend.
  await node2.stop();
  const node3 = new VolumeDriver({
    vpool: 'pool', nodeId: 'node3', dataRoot: join(dir, 'data3'), backend: new LocalDirBackend(join(dir, 'backend')), geometry: TEST_GEOMETRY,
    allowTinyScos: true, registry: new FileRegistry(join(dir, 'data', 'pool', 'registry.json')), log,
  });
  await node3.start();
  await node3.set_node_state({ node_id: 'node2', state: 'OFFLINE' });
  await dtl.server.close(); // without its DTL: the restart goes on from the backend alone, and says so
  const again = await node3.steal_volume({ volume_id: 'i14' });
  t.is(again.dtl_replay.status, 'unavailable');
  t.true((await node3.running('i14')!.read(0, size)).equals(expectedAfter(size, [0, 1]).data));
  t.is(node3.running('i14')!.dtl.state, 'DEGRADED');
  await node3.stop();
  await rm(dir, { recursive: true, force: true });
  await rm(dtl.dir, { recursive: true, force: true });
});

test('a power loss of the owner (what it had not fsynced is gone) and a local restart: the DTL gives back every acknowledged write', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ovs-power-'));
  const dtl = await dtlServer();
  // Also when an assertion fails: an open volume or DTL server would keep the test worker (and the run) alive.
  const opened: { h?: Awaited<ReturnType<typeof harness>> } = {};
  t.teardown(async () => {
    await opened.h?.close();
    await dtl.server.close();
    await rm(dtl.dir, { recursive: true, force: true });
  });
  const size = 4 * MiB;
  t.deepEqual(await crashedOwner(dir, 'pl', size, dtl.port, 'sync'), ['acked OK_SYNC']);
  // Nothing was flushed: after a power loss the TLogs not uploaded and the SCOs after the backend's last are empty.
  const root = join(dir, 'data', 'pool');
  const doc = JSON.parse(await readFile(join(root, 'md', 'pl', 'snapshots.json'), 'utf8')) as { lastScoNumber: number; current: Array<{ id: string; written: boolean }> };
  // What the backend had at the kill: tells a kill between the backend's and the local snapshots file from a real loss.
  const inBackend = await new LocalDirBackend(join(dir, 'backend')).get('pl', 'snapshots.json').then((b) => JSON.parse(b.toString('utf8')) as typeof doc, () => undefined);
  const writtenOf = (d?: typeof doc): number => d?.current.filter((x) => x.written).length ?? -1;
  let lost = 0;
  for (const f of await readdir(join(root, 'tlogs', 'pl'))) await truncate(join(root, 'tlogs', 'pl', f), 0);
  for (const f of await readdir(join(root, 'wc', 'pl'))) {
    const sco = parseScoName(f);
    if (sco && sco.number > doc.lastScoNumber) {
      await truncate(join(root, 'wc', 'pl', f), 0);
      lost++;
    }
  }
  t.true(lost > 0, 'the power loss took SCOs the backend did not have');
  const h = (opened.h = await harness(undefined, dir)); // node1 again: a local restart
  const v = h.driver.running('pl')!;
  const replay = h.driver.dtl_replay({ volume_id: 'pl' });
  t.like(replay, { status: 'replayed' });
  const image = await v.read(0, size);
  const expected = expectedAfter(size, [0, 1]).data;
  const firstDiff = image.findIndex((b, i) => b !== expected[i]);
  t.is(firstDiff, -1, `every acknowledged byte is there (first difference at ${firstDiff}; the local doc said the backend had SCOs up to ${doc.lastScoNumber} `
    + `and ${writtenOf(doc)} TLogs written, the backend's own doc ${inBackend?.lastScoNumber ?? '?'} and ${writtenOf(inBackend)}; ${lost} SCOs emptied; replay ${JSON.stringify(replay)})`);
  t.is(v.dtl.state, 'CATCHUP', 'the replayed writes are local until the backend has them');
  await v.queue.idle();
  t.is(v.dtl.state, 'OK_SYNC');
});

test('I15: with an async DTL every write acknowledged before the last completed flush survives SIGKILL of the owner; later ones are whole clusters or absent', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ovs-i15-'));
  const dtl = await dtlServer();
  const size = 4 * MiB;
  const said = await crashedOwner(dir, 'i15', size, dtl.port, 'async');
  t.is(said[0], 'flushed');
  const node2 = await secondNode(dir);
  await node2.set_node_state({ node_id: 'node1', state: 'OFFLINE' });
  const stolen = await node2.steal_volume({ volume_id: 'i15' });
  t.is(stolen.dtl_replay.status, 'replayed');
  const image = await node2.running('i15')!.read(0, size);
  const flushed = expectedAfter(size, [0]);
  t.true(image.subarray(0, size / 2).equals(flushed.data.subarray(0, size / 2)), 'everything before the flush is there');
  // After the flush: each cluster holds zeros or the bytes of some write of phase 1, never anything else.
  const candidates = new Set<string>();
  for (const writer of dtlWrites(size, 1)) for (const w of writer) for (let c = 0; c < w.data.length; c += CLUSTER) candidates.add(w.data.subarray(c, c + CLUSTER).toString('base64'));
  const zero = Buffer.alloc(CLUSTER).toString('base64');
  let foreign = 0;
  for (let off = size / 2; off < size; off += CLUSTER) {
    const c = image.subarray(off, off + CLUSTER).toString('base64');
    if (c !== zero && !candidates.has(c)) foreign++;
  }
  t.is(foreign, 0);
  await node2.stop();
  await dtl.server.close();
  await rm(dir, { recursive: true, force: true });
  await rm(dtl.dir, { recursive: true, force: true });
});

test('I16: STANDALONE → CATCHUP with pending data → OK_SYNC after the upload; the DTL dies → DEGRADED with an event; back + checker → OK_SYNC', async (t) => {
  const h = await harness();
  const dtl = await dtlServer();
  const id = await h.driver.create_volume({ target_path: '/s.raw', volume_size: 4 * MiB });
  const v = h.driver.running(id)!;
  const transitions = (): Array<[unknown, unknown]> => h.events.filter((e) => e.type === 'dtl_state_transition').map((e) => [e.old_state, e.new_state]);
  t.is(h.driver.info_volume({ volume_id: id }).failover_mode, 'OK_STANDALONE');
  t.is(h.driver.get_dtl_config_mode({ volume_id: id }), 'AUTOMATIC');
  await v.write(0, pattern(3 * CLUSTER, 1)); // not in the backend, and the DTL will not have it
  await h.driver.set_manual_dtl_config({ volume_id: id, config: { host: '127.0.0.1', port: dtl.port, mode: 'Synchronous' } });
  t.is(h.driver.info_volume({ volume_id: id }).failover_mode, 'CATCHUP');
  t.is(h.driver.get_dtl_config_mode({ volume_id: id }), 'MANUAL');
  await v.queue.idle();
  t.is(v.dtl.state, 'OK_SYNC', 'the TLog of the pending writes reached the backend');
  t.deepEqual(transitions(), [[1, 2], [2, 0]]);

  await dtl.server.close();
  await v.write(CLUSTER * 8, pattern(CLUSTER, 2)); // the write still succeeds, unprotected
  t.is(v.dtl.state, 'DEGRADED');
  t.deepEqual(transitions().at(-1), [0, 3]);
  t.deepEqual(await v.read(CLUSTER * 8, CLUSTER), pattern(CLUSTER, 2));

  const back = new DtlServer(dtl.dir);
  await back.listen(dtl.port, '127.0.0.1');
  await h.driver.checkDtls();
  t.is(v.dtl.state, 'CATCHUP', 'the write made while DEGRADED is not on the DTL: catch up first');
  await v.queue.idle();
  t.is(v.dtl.state, 'OK_SYNC');
  t.deepEqual(transitions().slice(-2), [[3, 2], [2, 0]]);
  // No DTL any more: standalone.
  await h.driver.set_manual_dtl_config({ volume_id: id, config: null });
  t.is(v.dtl.state, 'OK_STANDALONE');
  t.deepEqual(transitions().at(-1), [0, 1]);
  await back.close();
  await h.close();
  await rm(dtl.dir, { recursive: true, force: true });
});

test('a DTL that went DEGRADED keeps entries older than what the backend got since: a failover does not replay them over newer acknowledged writes', async (t) => {
  const h = await harness();
  const dtl = await dtlServer();
  const id = await h.driver.create_volume({ target_path: '/stale.raw', volume_size: 4 * MiB });
  const v = h.driver.running(id)!;
  await h.driver.set_manual_dtl_config({ volume_id: id, config: { host: '127.0.0.1', port: dtl.port, mode: 'Synchronous' } });
  await v.write(0, pattern(4 * CLUSTER, 1)); // on the DTL
  await dtl.server.close(); // the DTL keeps that entry on disk
  await v.write(0, pattern(4 * CLUSTER, 2)); // DEGRADED: acknowledged without the DTL...
  t.is(v.dtl.state, 'DEGRADED');
  await h.driver.schedule_backend_sync({ volume_id: id });
  await v.queue.idle(); // ...and in the backend
  const back = new DtlServer(dtl.dir);
  await back.listen(dtl.port, '127.0.0.1'); // the old entry is served again, nobody cleared it

  const node2 = await secondNode(h.dir);
  await node2.set_node_state({ node_id: 'node1', state: 'OFFLINE' });
  const stolen = await node2.steal_volume({ volume_id: id });
  t.is(stolen.dtl_replay.status, 'replayed');
  t.is(stolen.dtl_replay.entries, 0, 'the stale entry is older than the backend');
  t.deepEqual(await node2.running(id)!.read(0, 4 * CLUSTER), pattern(4 * CLUSTER, 2));
  await node2.stop();
  await back.close();
  await h.close();
  await rm(dtl.dir, { recursive: true, force: true });
});

test('an idle volume goes DEGRADED, with its event, as soon as its DTL goes away (no write needed to notice)', async (t) => {
  const h = await harness();
  const dtl = await dtlServer();
  const id = await h.driver.create_volume({ target_path: '/idle.raw', volume_size: 4 * MiB });
  await h.driver.set_manual_dtl_config({ volume_id: id, config: { host: '127.0.0.1', port: dtl.port, mode: 'Asynchronous' } });
  const v = h.driver.running(id)!;
  t.is(v.dtl.state, 'OK_SYNC');
  await dtl.server.close();
  await waitFor('the volume notices', () => v.dtl.state === 'DEGRADED');
  t.deepEqual(h.events.filter((e) => e.type === 'dtl_state_transition').map((e) => [e.old_state, e.new_state]).at(-1), [0, 3]);
  const before = h.events.length;
  await h.close();
  t.false(h.events.slice(before).some((e) => e.type === 'dtl_state_transition'), 'stopping the volume announces nothing');
  await rm(dtl.dir, { recursive: true, force: true });
});

test('an unreachable DTL target leaves the volume DEGRADED (the config is kept, I/O goes on); a move hands over without replay', async (t) => {
  const h = await harness();
  const id = await h.driver.create_volume({ target_path: '/u.raw', volume_size: 4 * MiB });
  const free = await dtlServer();
  await free.server.close(); // a port nobody listens on
  await h.driver.set_manual_dtl_config({ volume_id: id, config: { host: '127.0.0.1', port: free.port, mode: 'Asynchronous' } });
  const v = h.driver.running(id)!;
  t.is(v.dtl.state, 'DEGRADED');
  t.deepEqual(h.events.filter((e) => e.type === 'dtl_state_transition').map((e) => [e.old_state, e.new_state]), [[1, 3]]);
  await v.write(0, pattern(CLUSTER, 3));
  t.deepEqual(await v.read(0, CLUSTER), pattern(CLUSTER, 3));
  await h.close();
  await rm(free.dir, { recursive: true, force: true });
});

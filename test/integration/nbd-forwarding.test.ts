import { connect } from 'node:net';
import { join } from 'node:path';
import test from 'ava';
import { request } from '../../src/client.js';
import { AgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/eventually.js';
import { runFio, startReconnectingNbd, type FioResult } from '../helpers/reconnecting-nbd.js';
import { run } from '../helpers/run.js';
import { qemuIo, startVpoolCluster, type VpoolCluster } from '../helpers/vpool-cluster.js';

/** Two agent processes of one vPool: NBD clients of either edge reach a vDisk wherever it lives. */
let cluster: VpoolCluster;
const IPS = ['127.0.0.151', '127.0.0.152'];
const MiB = 1024 * 1024;
const nbd = (i: number, name: string): string => `nbd://${cluster.sds[i]!.storage_ip}:${cluster.sds[i]!.ports.edge}/${name}`;
const ownerOf = async (vd: string): Promise<number> => {
  const got = await request<{ storagedriver_guid: string }>(cluster.nc, 'ovs.model.vdisk.get', { guid: vd });
  return cluster.sds.findIndex((s) => s.guid === got.storagedriver_guid);
};

test.before(async () => {
  cluster = await startVpoolCluster({ ips: IPS, vpoolName: 'fwd', offlineAfterS: 3600, keepDataDirs: true });
});

test.after.always(async () => {
  await cluster?.stop();
});

test.serial('a vDisk is read and written through the edge of a node that does not own it', async (t) => {
  await cluster.call('vdisk.create_new', { volume_name: 'fw1', volume_size: 16 * MiB, storagedriver_guid: cluster.sds[1]!.guid });
  t.regex(await qemuIo(nbd(1, 'fw1'), 'write -P 0x5a 0 2M'), /wrote 2097152/);
  // Through node 0, which forwards to the owner: the owner's bytes, the owner's size.
  const read = await qemuIo(nbd(0, 'fw1'), 'read -P 0x5a 0 2M');
  t.regex(read, /read 2097152/);
  t.notRegex(read, /fail|error/i);
  const info = await run('nbdinfo', ['--json', nbd(0, 'fw1')]);
  t.is(info.code, 0, info.stderr);
  t.is((JSON.parse(info.stdout) as { exports: Array<{ 'export-size': number }> }).exports[0]!['export-size'], 16 * MiB);
  // A write through node 0 lands at the owner.
  t.regex(await qemuIo(nbd(0, 'fw1'), 'write -P 0x6b 4M 1M'), /wrote 1048576/);
  t.notRegex(await qemuIo(nbd(1, 'fw1'), 'read -P 0x6b 4M 1M'), /fail|error/i);
  // The forward is logged with its target.
  const log = cluster.agents[0]!.log.join('');
  t.regex(log, /forwarding to the owner/);
  t.true(log.includes(`${IPS[1]}:${cluster.sds[1]!.ports.edge}`), 'the target is in the log');
  // An export nobody has is refused the same way as before.
  t.regex(await qemuIo(nbd(0, 'nope'), 'read 0 4k').catch((e: unknown) => String(e)), /export|not|fail|error/i);
});

test.serial('garbage on a forwarded connection closes it; neither agent crashes', async (t) => {
  const edge = cluster.sds[0]!;
  // Negotiate fw1 through node 0 (forwarded), then send bytes that are no NBD request.
  const sock = connect({ host: edge.storage_ip, port: edge.ports.edge });
  const closed = new Promise<void>((r) => sock.once('close', () => r()));
  sock.on('error', () => undefined);
  let got = Buffer.alloc(0);
  sock.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
  const name = Buffer.from('fw1');
  const go = Buffer.alloc(4 + name.length + 2);
  go.writeUInt32BE(name.length, 0);
  name.copy(go, 4);
  const opt = Buffer.alloc(16);
  opt.write('IHAVEOPT', 0, 'latin1');
  opt.writeUInt32BE(7, 8);
  opt.writeUInt32BE(go.length, 12);
  const flags = Buffer.alloc(4);
  flags.writeUInt32BE(3, 0);
  sock.write(Buffer.concat([flags, opt, go]));
  // greeting (18) + INFO_EXPORT (20+12) + INFO_BLOCK_SIZE (20+14) + ACK (20)
  await waitFor('GO acknowledged through the forward', () => got.length >= 18 + 32 + 34 + 20);
  t.is(got.readUInt32BE(18 + 32 + 34 + 12), 1, 'GO answered with ACK');
  sock.write(Buffer.alloc(4096, 0xee));
  await closed;
  // Garbage during negotiation, too.
  const raw = connect({ host: edge.storage_ip, port: edge.ports.edge });
  raw.on('error', () => undefined);
  raw.write(Buffer.alloc(1000, 0x41));
  raw.resume(); // read, or the server's close is never seen
  await new Promise<void>((r) => raw.once('close', () => r()));
  for (const a of cluster.agents) t.is(a.child.exitCode, null, 'agent alive');
  t.notRegex(await qemuIo(nbd(0, 'fw1'), 'read -P 0x5a 0 1M'), /fail|error/i);
  t.notRegex(await qemuIo(nbd(1, 'fw1'), 'read -P 0x5a 0 1M'), /fail|error/i);
});

test.serial('fio --verify through a reconnecting qemu client: two moves and a restart of its agent, zero errors', async (t) => {
  const vd = await cluster.call<string>('vdisk.create_new', { volume_name: 'fw2', volume_size: 64 * MiB, storagedriver_guid: cluster.sds[1]!.guid });
  const front = await startReconnectingNbd({ host: IPS[0]!, port: cluster.sds[0]!.ports.edge, exportName: 'fw2' });
  t.teardown(() => front.stop());
  const results: FioResult[] = [];
  let disrupted = false;
  let edge0Before = '';
  const load = (async () => {
    // Phases of a few seconds each until every disruption happened, and one after.
    while (!disrupted || results.length < 1) results.push(await runFio({ uri: front.uri, sizeBytes: 32 * MiB, runtimeS: 3 }));
    results.push(await runFio({ uri: front.uri, sizeBytes: 32 * MiB, runtimeS: 2 }));
  })();
  const writesSeen = async (): Promise<void> => {
    const before = results.length;
    await waitFor('a fio phase to complete', () => results.length > before, 60_000, 100);
  };
  try {
    await writesSeen();
    await cluster.call('vdisk.move', { vdisk_guid: vd, target_storagerouter_guid: cluster.agents[0]!.guid });
    t.is(await ownerOf(vd), 0, 'moved to the node qemu is connected to');
    await writesSeen();
    await cluster.call('vdisk.move', { vdisk_guid: vd, target_storagerouter_guid: cluster.agents[1]!.guid });
    t.is(await ownerOf(vd), 1, 'moved back');
    await writesSeen();
    // The agent qemu is connected to restarts while the vDisk lives on the other node.
    edge0Before = cluster.agents[0]!.log.join('');
    await cluster.agents[0]!.stop();
    cluster.agents[0] = await AgentProcess.start({ natsUrl: cluster.ns.url, name: 'fwd-0', ip: IPS[0]!, dataDir: join(cluster.dir, 'agent-0') });
    await writesSeen();
  } finally {
    disrupted = true;
    await load;
  }
  for (const [i, r] of results.entries()) {
    t.log(`phase ${i}: ${r.writeIos} writes, ${r.readIos} verify reads, error ${r.error}`);
    t.is(r.error, 0, `phase ${i}: fio error (${r.stderr.slice(-500)})`);
    t.is(r.totalErrors, 0, `phase ${i}: fio I/O errors`);
  }
  // A phase spent mostly waiting for the restarted agent may verify nothing itself; the others did.
  t.true(results.every((r) => r.writeIos > 0), 'every phase wrote');
  t.true(results.filter((r) => r.readIos > 0).length >= results.length - 1, 'and read back what it wrote');
  // The client was really moved around: dropped by each owner the vDisk left, forwarded again after each reconnect.
  const count = (log: string, re: RegExp): number => log.split('\n').filter((l) => re.test(l)).length;
  t.true(count(edge0Before + cluster.agents[0].log.join(''), /forwarding to the owner/) >= 3, 'forwarded before the moves, after them and after the restart');
  t.true(count(edge0Before, /no longer served here|closing the connection unanswered/) >= 1, 'node 0 dropped the client when the vDisk left it');
  t.true(count(cluster.agents[1]!.log.join(''), /no longer served here|closing the connection unanswered/) >= 1, 'node 1 dropped the relayed client when the vDisk left it');
});

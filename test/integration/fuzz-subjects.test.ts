import test from 'ava';
import { clusterContext, fuzzNats, fuzzPorts, type FuzzTally } from '../../bench/chaos/fuzz.js';
import { Rng } from '../../bench/chaos/rng.js';
import { fuzzEvents } from '../../bench/chaos/fuzz-events.js';
import { request } from '../../src/client.js';
import { AgentProcess } from '../helpers/agent-process.js';
import { run } from '../helpers/run.js';
import { qemuIo, startVpoolCluster } from '../helpers/vpool-cluster.js';

/**
 * Issue 15, chaos item 6: malformed requests to every subject the agents serve (tasks, model, config, task results,
 * forwarded tasks, model relays, discovery, data-plane calls, update, test mode, MDS) and malformed frames to every NBD
 * and DTL port. Every request is answered with a typed error, every port still serves a real client, no agent dies.
 */
test('fuzz: every subject answers malformed requests with a typed error; NBD and DTL ports survive garbage; agents and clients carry on', async (t) => {
  t.timeout(300_000);
  const c = await startVpoolCluster({ ips: ['127.0.0.221', '127.0.0.222', '127.0.0.223'], vpoolName: 'fuzzs', offlineAfterS: 60, testMode: true });
  // A fourth agent with the HTTP dashboard, whose cluster view follows heartbeats and events.
  let web: AgentProcess | undefined;
  try {
    web = await AgentProcess.start({ natsUrl: c.ns.url, name: 'fuzzs-web', ip: '127.0.0.224', extraArgs: ['--http-port', '0'] });
    const sd = c.sds[0]!;
    await c.call('vdisk.create_new', { volume_name: 'fz1', volume_size: 64 * 1024 * 1024, storagedriver_guid: sd.guid });
    // An export on every edge, so each gets the oversize request after a real handshake.
    for (const [i, other] of c.sds.slice(1).entries()) await c.call('vdisk.create_new', { volume_name: `fz1-${i}`, volume_size: 64 * 1024 * 1024, storagedriver_guid: other.guid });
    const url = `nbd://${sd.storage_ip}:${sd.ports.edge}/fz1`;
    t.regex(await qemuIo(url, 'write -P 0x3c 0 1M'), /wrote 1048576/);

    const context = await clusterContext(c.nc);
    t.is(context.storagerouters.length, 4);
    t.is(context.storagedrivers.length, 3);
    t.is(context.testMode.length, 3, 'the vPool agents run in test mode');
    t.true(context.mdsAddresses.length >= 1, 'the vPool has MDS services');

    const rng = new Rng(15);
    const tally: FuzzTally = { typed: 0, sent: 0, untyped: [] };
    await fuzzNats(c.nc, rng, tally, { context });
    t.log(`subjects=${tally.subjects} typed=${tally.typed}/${tally.sent}`);
    t.true((tally.subjects ?? 0) > 500);
    t.deepEqual(tally.untyped, []);
    t.is(tally.typed, tally.sent);

    const ports = await fuzzPorts(c.sds.flatMap((s) => [{ host: s.storage_ip, port: s.ports.edge }, { host: s.storage_ip, port: s.ports.dtl }]), rng);
    t.log(`port fuzz: ${ports.sent} malformed connections, failures: ${ports.failures.join(', ') || 'none'}`);
    t.is(ports.sent, 3 * 4 + 3 * 5);
    t.deepEqual(ports.failures, []);

    const events = await fuzzEvents(c.nc, rng, context.storagerouters);
    t.log(`events: ${events.published} published, silent agents: ${events.silentAgents.join(', ') || 'none'}, stream stuck: ${events.streamStuck}`);
    t.deepEqual(events.silentAgents, []);
    t.false(events.streamStuck, 'malformed data-plane events are dropped, not redelivered');

    for (const a of [...c.agents, web]) t.is(a.child.exitCode, null, `agent ${a.guid} still runs`);
    // Real clients afterwards: NBD reads back what was written, a task and a model read run.
    t.regex((await run('nbdinfo', [url])).stdout, /export-size:\s+67108864/);
    t.regex(await qemuIo(url, 'read -P 0x3c 0 1M'), /read 1048576/);
    const vdisks = await request<Array<{ name: string }>>(c.nc, 'ovs.model.vdisk.list', {});
    t.true(vdisks.some((v) => v.name === 'fz1'));
    await c.call('vdisk.create_new', { volume_name: 'fz2', volume_size: 64 * 1024 * 1024, storagedriver_guid: c.sds[1]!.guid });
  } finally {
    await web?.stop();
    await c.stop();
  }
});

import test from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPT_GO, OPT_STARTTLS, REP_ACK, REP_ERR_TLS_REQD } from '../../src/dataplane/nbd/protocol.js';
import { NbdServer } from '../../src/dataplane/nbd/server.js';
import { loadNbdTls, type NbdTls } from '../../src/dataplane/nbd/tls.js';
import { FileVolume, MapExports } from '../helpers/nbd-file-volume.js';
import { infoData, option, RawClient, readOptionReply } from '../helpers/nbd-raw-client.js';
import { makeNbdCerts } from '../helpers/nbd-tls-certs.js';
import { run } from '../helpers/run.js';

const MiB = 1024 * 1024;
let dir = '';
let server: NbdServer;
let port = 0;
let volume: FileVolume;
let tls: NbdTls;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ovs-nbd-tls-'));
  const files = await makeNbdCerts(dir);
  const exports = new MapExports();
  volume = await FileVolume.create(join(dir, 'vol.img'), 16 * MiB);
  exports.volumes.set('vol', volume);
  tls = loadNbdTls({ cert_file: files.cert, key_file: files.key, ca_file: files.ca });
  server = new NbdServer(exports, { tls });
  port = await server.listen(0, '127.0.0.1');
});

test.after.always(async () => {
  await server?.close();
  await volume?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const nbds = (): string => `nbds://127.0.0.1:${port}/vol?tls-certificates=${dir}`;

const qemuIo = (cmd: string): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  run('qemu-io', [
    '--object', `tls-creds-x509,id=tls0,dir=${dir},endpoint=client`,
    '--image-opts', `driver=nbd,server.type=inet,server.host=127.0.0.1,server.port=${port},export=vol,tls-creds=tls0`,
    '-c', cmd,
  ]);

/** Greeting read, fixed newstyle client flags sent. */
async function negotiate(): Promise<RawClient> {
  const c = await RawClient.connect(port);
  await c.read(18);
  const flags = Buffer.alloc(4);
  flags.writeUInt32BE(3, 0);
  await c.write(flags);
  return c;
}

test('nbdinfo over nbds:// sees the export; qemu-io writes and reads it back over TLS', async (t) => {
  const info = await run('nbdinfo', ['--size', nbds()]);
  t.is(info.code, 0, info.stderr);
  t.is(info.stdout.trim(), String(16 * MiB));
  const isTls = await run('nbdinfo', ['--is', 'tls', nbds()]);
  t.is(isTls.code, 0, isTls.stderr);

  const w = await qemuIo('write -P 0x6b 1M 64k');
  t.is(w.code, 0, w.stderr + w.stdout);
  const r = await qemuIo('read -P 0x6b 1M 64k');
  t.is(r.code, 0, r.stderr + r.stdout);
  t.notRegex(r.stdout, /Pattern verification failed/);
  t.deepEqual(await volume.read(MiB, 4), Buffer.alloc(4, 0x6b));
});

test('a plain client is refused with NBD_REP_ERR_TLS_REQD (EXPORT_NAME: closed), the server keeps serving', async (t) => {
  const plain = await run('nbdinfo', ['--size', `nbd://127.0.0.1:${port}/vol`]);
  t.not(plain.code, 0);
  t.regex(plain.stderr, /TLS/i, plain.stderr);

  const c = await negotiate();
  await c.write(option(OPT_GO, infoData('vol')));
  const rep = await readOptionReply(c);
  t.is(rep.type, REP_ERR_TLS_REQD);
  c.destroy();

  const after = await run('nbdinfo', ['--size', nbds()]);
  t.is(after.code, 0, after.stderr);
});

test('a TLS client without a certificate of the CA is refused', async (t) => {
  const noCert = await run('nbdinfo', ['--size', `nbds://127.0.0.1:${port}/vol?tls-verify-peer=false`]);
  t.not(noCert.code, 0);
  t.is((await run('nbdinfo', ['--size', nbds()])).code, 0);
});

test('garbage instead of a TLS hello closes that connection only', async (t) => {
  for (let i = 0; i < 5; i++) {
    const c = await negotiate();
    await c.write(option(OPT_STARTTLS));
    t.is((await readOptionReply(c)).type, REP_ACK);
    await c.write(randomBytes(300 + i * 500));
    await c.closed; // a TLS alert may come first: what counts is that the server closes it
  }
  const after = await run('nbdinfo', ['--size', nbds()]);
  t.is(after.code, 0, after.stderr);
});

test('an edge of the vPool forwards to the owner over TLS: qemu-io through the edge reads what the owner holds', async (t) => {
  const edge = new NbdServer(new MapExports(), {
    tls,
    forwarding: { resolve: (_name, o) => Promise.resolve(o.forward ? { target: { host: '127.0.0.1', port, node: 'owner' } } : undefined) },
  });
  const edgePort = await edge.listen(0, '127.0.0.1');
  t.teardown(() => edge.close());
  await volume.write(3 * MiB, Buffer.alloc(65536, 0x3c));
  const r = await run('qemu-io', [
    '--object', `tls-creds-x509,id=tls0,dir=${dir},endpoint=client`,
    '--image-opts', `driver=nbd,server.type=inet,server.host=127.0.0.1,server.port=${edgePort},export=vol,tls-creds=tls0`,
    '-c', 'read -P 0x3c 3M 64k',
  ]);
  t.is(r.code, 0, r.stderr + r.stdout);
  t.notRegex(r.stdout, /Pattern verification failed/);
});

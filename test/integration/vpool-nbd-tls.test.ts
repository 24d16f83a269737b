import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NBD_TLS_DEFAULT_KEY } from '../../src/storagedriver/nbd-tls-settings.js';
import { makeNbdCerts } from '../helpers/nbd-tls-certs.js';
import { run } from '../helpers/run.js';
import { startVpoolCluster } from '../helpers/vpool-cluster.js';

const MiB = 1024 * 1024;
const IPS = ['127.0.0.51', '127.0.0.52'];

test('a vPool that requires TLS: nbds:// on the owner and through the other edge (forwarded over TLS); nbd:// refused', async (t) => {
  const certs = await mkdtemp(join(tmpdir(), 'ovs-vpool-tls-'));
  const f = await makeNbdCerts(certs, IPS);
  const cluster = await startVpoolCluster({ ips: IPS, vpoolName: 'tlspool', offlineAfterS: 3600, config: { [NBD_TLS_DEFAULT_KEY]: { cert_file: f.cert, key_file: f.key, ca_file: f.ca } } });
  try {
    const [owner, other] = cluster.sds;
    await cluster.call('vdisk.create_new', { volume_name: 'sealed', volume_size: 8 * MiB, storagedriver_guid: owner!.guid });
    const qemuIo = (sd: typeof owner, cmd: string): Promise<{ code: number | null; stdout: string; stderr: string }> =>
      run('qemu-io', [
        '--object', `tls-creds-x509,id=tls0,dir=${certs},endpoint=client`,
        '--image-opts', `driver=nbd,server.type=inet,server.host=${sd!.storage_ip},server.port=${sd!.ports.edge},export=sealed,tls-creds=tls0`,
        '-c', cmd,
      ]);
    const w = await qemuIo(owner, 'write -P 0x2e 0 64k');
    t.is(w.code, 0, w.stderr + w.stdout);
    const r = await qemuIo(other, 'read -P 0x2e 0 64k');
    t.is(r.code, 0, r.stderr + r.stdout);
    t.notRegex(r.stdout, /Pattern verification failed/);
    const plain = await run('nbdinfo', ['--size', `nbd://${owner!.storage_ip}:${owner!.ports.edge}/sealed`]);
    t.not(plain.code, 0);
    t.regex(plain.stderr, /TLS/i);
  } finally {
    await cluster.stop();
    await rm(certs, { recursive: true, force: true });
  }
});

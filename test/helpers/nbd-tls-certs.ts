import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/**
 * A CA, a server certificate for the storage IPs `ips` (one for all nodes, to keep tests short) and a client certificate, made with Debian's openssl, under the names the
 * GnuTLS-based clients read from a directory (qemu's tls-creds-x509 dir=, libnbd's tls-certificates=):
 * ca-cert.pem, server-cert.pem, server-key.pem, client-cert.pem, client-key.pem.
 */
export async function makeNbdCerts(dir: string, ips: string[] = ['127.0.0.1']): Promise<{ ca: string; cert: string; key: string }> {
  const p = (f: string): string => join(dir, f);
  const ossl = (...args: string[]): Promise<unknown> => exec('openssl', args, { cwd: dir });
  await ossl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=ovs-test-ca', '-keyout', p('ca-key.pem'), '-out', p('ca-cert.pem'));
  for (const [who, cn, ext] of [
    ['server', ips[0]!, `subjectAltName=${ips.map((ip) => `IP:${ip}`).join(',')}\nextendedKeyUsage=serverAuth,clientAuth\n`],
    ['client', 'ovs-test-client', 'extendedKeyUsage=clientAuth\n'],
  ] as const) {
    await writeFile(p(`${who}.ext`), ext);
    await ossl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', p(`${who}-key.pem`), '-out', p(`${who}.csr`));
    await ossl('x509', '-req', '-in', p(`${who}.csr`), '-CA', p('ca-cert.pem'), '-CAkey', p('ca-key.pem'), '-CAcreateserial', '-days', '2', '-extfile', p(`${who}.ext`), '-out', p(`${who}-cert.pem`));
  }
  return { ca: p('ca-cert.pem'), cert: p('server-cert.pem'), key: p('server-key.pem') };
}

import { execFile } from 'node:child_process';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TlsMaterial {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/**
 * A private CA and a server certificate signed by it for 127.0.0.1 and localhost, made by Debian's `openssl`
 * (kept when they exist, so clients that trust the CA keep working across restarts).
 */
export async function ensureLocalTlsMaterial(dir: string, days = 3650): Promise<TlsMaterial> {
  const f = { caKey: join(dir, 'ca.key'), ca: join(dir, 'ca.pem'), key: join(dir, 'server.key'), csr: join(dir, 'server.csr'), cert: join(dir, 'server.pem'), ext: join(dir, 'server.ext') };
  const material = { caFile: f.ca, certFile: f.cert, keyFile: f.key };
  if (await Promise.all([f.ca, f.cert, f.key].map((p) => access(p))).then(() => true, () => false)) return material;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', ['req', '-x509', ...ec, '-keyout', f.caKey, '-out', f.ca, '-days', String(days), '-subj', '/CN=ovs local CA']);
  await run('openssl', ['req', '-new', ...ec, '-keyout', f.key, '-out', f.csr, '-subj', '/CN=localhost']);
  await writeFile(f.ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await run('openssl', ['x509', '-req', '-in', f.csr, '-CA', f.ca, '-CAkey', f.caKey, '-CAcreateserial', '-out', f.cert, '-days', String(days), '-extfile', f.ext]);
  return material;
}

/** A client certificate signed by the CA of {@link ensureLocalTlsMaterial} in `dir`, for servers that verify clients. */
export async function issueClientCertificate(dir: string, name: string, days = 3650): Promise<{ certFile: string; keyFile: string }> {
  const f = { key: join(dir, `${name}.key`), csr: join(dir, `${name}.csr`), cert: join(dir, `${name}.pem`), ext: join(dir, `${name}.ext`) };
  await run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f.key, '-out', f.csr, '-subj', `/CN=${name}`]);
  await writeFile(f.ext, 'extendedKeyUsage=clientAuth\n');
  await run('openssl', ['x509', '-req', '-in', f.csr, '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-out', f.cert, '-days', String(days), '-extfile', f.ext]);
  return { certFile: f.cert, keyFile: f.key };
}

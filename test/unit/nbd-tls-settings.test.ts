import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigStore } from '../../src/config/store.js';
import { NbdTlsConfigError } from '../../src/errors/dataplane.js';
import { NBD_TLS_DEFAULT_KEY, nbdTlsKey, nbdTlsOf } from '../../src/storagedriver/nbd-tls-settings.js';
import { makeNbdCerts } from '../helpers/nbd-tls-certs.js';

const storeWith = (values: Record<string, unknown>): ConfigStore => ({ get: (k: string) => Promise.resolve(values[k]) }) as unknown as ConfigStore;

test('a vPool without the key serves plain; a setting is read into the mode and peer checks', async (t) => {
  t.is(await nbdTlsOf(storeWith({}), 'vp'), undefined);
  const dir = await mkdtemp(join(tmpdir(), 'ovs-nbd-tls-set-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const f = await makeNbdCerts(dir);
  const required = await nbdTlsOf(storeWith({ [nbdTlsKey('vp')]: { cert_file: f.cert, key_file: f.key, ca_file: f.ca } }), 'vp');
  t.like(required, { mode: 'required', verifyClients: true });
  const optional = await nbdTlsOf(storeWith({ [nbdTlsKey('vp')]: { cert_file: f.cert, key_file: f.key, require: false } }), 'vp');
  t.like(optional, { mode: 'optional', verifyClients: false });
  const byDefault = await nbdTlsOf(storeWith({ [NBD_TLS_DEFAULT_KEY]: { cert_file: f.cert, key_file: f.key, require: false } }), 'vp');
  t.like(byDefault, { mode: 'optional' }, 'a vPool without a key of its own takes the cluster default');
  // A key that is not the certificate's: refused at start, not at the first client.
  const mismatch = storeWith({ [nbdTlsKey('vp')]: { cert_file: f.cert, key_file: join(dir, 'client-key.pem') } });
  t.is((await t.throwsAsync(nbdTlsOf(mismatch, 'vp'), { instanceOf: NbdTlsConfigError }))?.type, 'NBD_TLS_CONFIG');
});

const bad: Array<[string, unknown]> = [
  ['not an object', 'yes'],
  ['no key file', { cert_file: '/x.pem' }],
  ['unknown field', { cert_file: '/x.pem', key_file: '/y.pem', requre: true }],
  ['require not a boolean', { cert_file: '/x.pem', key_file: '/y.pem', require: 'yes' }],
  ['missing files', { cert_file: '/nonexistent/cert.pem', key_file: '/nonexistent/key.pem' }],
];
for (const [what, value] of bad) {
  test(`a bad setting is a typed NBD_TLS_CONFIG error: ${what}`, async (t) => {
    const err = await t.throwsAsync(nbdTlsOf(storeWith({ [nbdTlsKey('vp')]: value }), 'vp'), { instanceOf: NbdTlsConfigError });
    t.deepEqual(err?.details, { vpool_guid: 'vp', key: '/ovs/vpools/vp/nbd_tls' });
  });
}
